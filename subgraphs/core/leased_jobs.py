"""Jobs that a worker runs under a lease (content exports and imports, generation jobs): the one protocol.

Such a job's table has `id`, `organization_id`, `requested_by`, `status` (QUEUED, RUNNING, then a final
status), `attempts`, `lease_token`, `lease_expires_at` and `finished_at`. A worker claims a QUEUED job, or
takes over a RUNNING one whose lease expired (its worker died), with a fresh token; it records progress and
finishes only while that token still holds, so a cancelled or taken-over job is never finished twice.
The statements below are that protocol for any such table; the caller runs them in its transaction.
Their leading arguments are positional-only, so `values` may name any column (the generator's `model`).

Who sees a job: whoever requested it, and whoever holds the domain's managing permission in its organization.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, DateTime, Integer, Update, and_, or_, update
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.db import utcnow
from subgraphs.core.errors import Forbidden, NotAuthenticated, NotFound
from subgraphs.core.ownership import owner_or_permitted, owner_or_permitted_clause
from subgraphs.core.rbac import Caller, Permission

QUEUED = "QUEUED"
RUNNING = "RUNNING"
CANCELLED = "CANCELLED"
FINISHED = frozenset({"SUCCEEDED", "FAILED", CANCELLED})

JobT = TypeVar("JobT")


class LeasedJobMixin:
    """The columns every leased job table has: `class ExportJob(UUIDPrimaryKey, LeasedJobMixin, Base)`."""

    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_token: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# --- the lease ----------------------------------------------------------------------------------------


def claim(model: type[Any], job_id: uuid.UUID, /, *, lease_seconds: float, **values: Any) -> Update:
    """QUEUED → RUNNING, or take over a RUNNING job whose lease expired: a new token, one more attempt
    (and `values`). Returns the job, or no row when it is not the caller's to run."""
    now = utcnow()
    return (
        update(model)
        .where(
            model.id == job_id,
            or_(model.status == QUEUED, and_(model.status == RUNNING, model.lease_expires_at < now)),
        )
        .values(
            status=RUNNING,
            lease_token=uuid.uuid4(),
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            attempts=model.attempts + 1,
            **values,
        )
        .returning(model)
    )


def _held(model: type[Any], job: Any) -> ColumnElement[bool]:
    """The job is still RUNNING under the lease `job` was claimed with."""
    return and_(model.id == job.id, model.status == RUNNING, model.lease_token == job.lease_token)


def renew(model: type[Any], job: Any, /, *, lease_seconds: float, **values: Any) -> Update:
    """Extend the lease (and set `values`); no row when the lease was lost."""
    return (
        update(model)
        .where(_held(model, job))
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds), **values)
        .returning(model)
    )


def finish(model: type[Any], job: Any, status: str, /, **values: Any) -> Update:
    """RUNNING under the lease → `status` (and `values`), the lease released; no row when it was lost."""
    return (
        update(model)
        .where(_held(model, job))
        .values(status=status, finished_at=utcnow(), lease_token=None, lease_expires_at=None, **values)
        .returning(model)
    )


def requeue_expired(model: type[Any]) -> Update:
    """RUNNING jobs whose lease expired (their worker died) back to QUEUED; returns them."""
    return (
        update(model)
        .where(model.status == RUNNING, model.lease_expires_at < utcnow())
        .values(status=QUEUED, lease_token=None, lease_expires_at=None)
        .returning(model)
    )


def end(job: Any, status: str) -> None:
    """`job`, a row the caller holds locked, → `status`: finished now, its lease released."""
    job.status = status
    job.finished_at = utcnow()
    job.lease_token = None
    job.lease_expires_at = None


async def cancel(session: AsyncSession, model: type[JobT], job_id: uuid.UUID) -> JobT | None:
    """Lock the job (the caller made sure it exists) and end it CANCELLED; None when it had finished."""
    job: Any = await session.get(model, job_id, with_for_update=True)
    assert job is not None
    if job.status in FINISHED:
        return None
    end(job, CANCELLED)
    return job


# --- who sees a job -----------------------------------------------------------------------------------


async def can_view(caller: Caller, job: Any, permission: Permission) -> bool:
    return await owner_or_permitted(caller, job.requested_by, permission, job.organization_id)


async def visible_clause(caller: Caller, model: type[Any], permission: Permission) -> Any:
    """`can_view` as a WHERE clause over `model`."""
    mine = model.requested_by == caller.principal.subject
    return await owner_or_permitted_clause(caller, permission, mine=mine, organization=model.organization_id)


async def visible_job(
    runtime: Runtime,
    meta: RequestMeta,
    model: type[JobT],
    job_id: uuid.UUID,
    *,
    permission: Permission,
    what: str,
) -> JobT:
    """The job, if the caller may see it; `what` names it in the NotFound message ("export job")."""
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    async with runtime.transaction() as session:
        job = await session.get(model, job_id)
    if job is None:
        raise NotFound(f"No such {what}.")
    if not await can_view(meta.caller, job, permission):
        # Another tenant's job is refused like a missing one would be to a stranger, but recorded.
        raise Forbidden()
    return job
