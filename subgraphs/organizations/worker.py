"""The organizations domain's background tasks: the membership projection and the audit log."""

from __future__ import annotations

from subgraphs.core.course_owners import CourseOwnersConsumer
from subgraphs.core.domains import WorkerDeps
from subgraphs.organizations.audit import AuditConsumer
from subgraphs.organizations.authz import AuthzProjectionConsumer
from subgraphs.organizations.models import CourseOwner


def worker_tasks(deps: WorkerDeps) -> list:
    return [
        AuthzProjectionConsumer(deps.redis, deps.sessionmaker, **deps.consumer_options),
        AuditConsumer(deps.redis, deps.sessionmaker, **deps.consumer_options),
        CourseOwnersConsumer(
            deps.redis,
            deps.sessionmaker,
            model=CourseOwner,
            group="organizations-course-owners",
            **deps.consumer_options,
        ),
    ]
