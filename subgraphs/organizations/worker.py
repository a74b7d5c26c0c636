"""The organizations domain's background tasks: the membership projection and the audit log."""

from __future__ import annotations

from subgraphs.core.course_owners import CourseOwnersConsumer
from subgraphs.core.domains import WorkerDeps
from subgraphs.core.redis_state import RedisStateKeeper
from subgraphs.organizations.audit import AuditConsumer
from subgraphs.organizations.authz import AuthzProjectionConsumer, projection_state
from subgraphs.organizations.models import CourseOwner
from subgraphs.organizations.tracks import COURSE_OWNERS_GROUP


def worker_tasks(deps: WorkerDeps) -> list:
    return [
        RedisStateKeeper(deps.redis, [projection_state(deps.sessionmaker, deps.redis)]),
        AuthzProjectionConsumer(deps.redis, deps.sessionmaker, **deps.consumer_options),
        AuditConsumer(deps.redis, deps.sessionmaker, **deps.consumer_options),
        CourseOwnersConsumer(
            deps.redis,
            deps.sessionmaker,
            model=CourseOwner,
            group=COURSE_OWNERS_GROUP,
            **deps.consumer_options,
        ),
    ]
