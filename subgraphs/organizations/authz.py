"""The membership projection every subgraph authorizes with (core.rbac reads it; only this module writes).

`authz:memberships:<user_id>` is a Redis hash {organization id: membership role}. It is always recomputed
from this domain's database, never patched: after every committed membership change (write-through, in
the request, so the change applies before the mutation returns) and again by the worker's consumer of
the `events.organizations` stream (which repairs the projection if the write-through after a commit
failed). A recompute is idempotent and order-independent. When Redis loses the projection (its marker
`authz:projection:complete` is gone), the worker rebuilds all of it; readers wait for that meanwhile.

Writers serialize per user with a PostgreSQL advisory lock that membership changes take too, so a
recompute never writes a state older than one already written: between its read and its Redis write no
membership change of that user can commit.
"""

from __future__ import annotations

import logging
import uuid
from typing import ClassVar

from redis.asyncio import Redis
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.core.consumers import DatabaseConsumer
from subgraphs.core.events import Event, stream_name
from subgraphs.core.rbac import MEMBERSHIPS_KEY, MEMBERSHIPS_MARKER
from subgraphs.core.redis_state import RebuildableState
from subgraphs.organizations.models import Membership

log = logging.getLogger("coursegraph.organizations.authz")

MEMBERSHIP_EVENT_PREFIX = "organizations.membership."
SCAN_PATTERN = MEMBERSHIPS_KEY.format(user_id="*")


async def lock_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Serialize membership changes and projection writes of one user (until the transaction ends)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"authz:{user_id}"}
    )


async def project_user(
    sessionmaker: async_sessionmaker[AsyncSession], redis: Redis, user_id: uuid.UUID
) -> dict[str, str]:
    """Recompute one user's hash from the database and replace it in Redis; returns what was written."""
    async with sessionmaker() as session, session.begin():
        await lock_user(session, user_id)
        rows = (
            await session.execute(
                select(Membership.organization_id, Membership.role).where(Membership.user_id == user_id)
            )
        ).all()
        roles = {str(org): role for org, role in rows}
        key = MEMBERSHIPS_KEY.format(user_id=user_id)
        async with redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if roles:
                # A fresh literal: redis-py's mapping type is invariant, a dict[str, str] does not fit it.
                pipe.hset(key, mapping={**roles})
            await pipe.execute()
    return roles


async def rebuild_projection(sessionmaker: async_sessionmaker[AsyncSession], redis: Redis) -> int:
    """Recompute every member's hash and drop hashes of users without memberships (worker start-up: Redis
    may have lost or kept stale data while no worker ran). Returns how many users were projected."""
    async with sessionmaker() as session:
        members = set((await session.scalars(select(Membership.user_id).distinct())).all())
    for user_id in members:
        await project_user(sessionmaker, redis, user_id)
    async for key in redis.scan_iter(match=SCAN_PATTERN, count=1000):
        raw = key.decode() if isinstance(key, bytes) else key
        try:
            user_id = uuid.UUID(raw.rsplit(":", 1)[1])
        except ValueError:
            continue
        if user_id not in members:
            await project_user(sessionmaker, redis, user_id)  # under the lock: deletes unless just added
    return len(members)


class AuthzProjectionConsumer(DatabaseConsumer):
    """Recomputes the projection of the user of every membership event (worker, group authz-projection)."""

    group: ClassVar[str] = "authz-projection"
    streams: ClassVar[tuple[str, ...]] = (stream_name("organizations"),)

    async def handle(self, event: Event) -> None:
        if not event.type.startswith(MEMBERSHIP_EVENT_PREFIX):
            return
        user_id = event.subject_ids.get("user_id")
        if user_id:
            await project_user(self.sessionmaker, self.redis, uuid.UUID(user_id))


def projection_state(sessionmaker: async_sessionmaker[AsyncSession], redis: Redis) -> RebuildableState:
    """The projection as Redis state the worker's keeper rebuilds whenever its marker is missing: at the
    first start, and after Redis restarted empty or was flushed (readers wait for it meanwhile)."""
    return RebuildableState(
        name="membership projection",
        marker=MEMBERSHIPS_MARKER,
        rebuild=lambda: rebuild_projection(sessionmaker, redis),
    )
