"""Reading lab sessions: the filtered list a caller may see, and how full an organization's labs are."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Select, select

from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.errors import NotAuthenticated
from subgraphs.core.pagination import Connection, PageRequest, paginate_by_time
from subgraphs.core.rbac import Permission, authorize
from subgraphs.labs.access import visible_clause
from subgraphs.labs.models import LabSession
from subgraphs.labs.states import ACTIVE, BOOTING, LabStatus, count_sessions, org_settings


@dataclass(frozen=True)
class SessionFilter:
    organization_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    exercise_id: uuid.UUID | None = None
    course_id: uuid.UUID | None = None
    statuses: tuple[LabStatus, ...] = ()


def filtered(stmt: Select, flt: SessionFilter) -> Select:
    if flt.organization_id:
        stmt = stmt.where(LabSession.organization_id == flt.organization_id)
    if flt.user_id:
        stmt = stmt.where(LabSession.user_id == flt.user_id)
    if flt.exercise_id:
        stmt = stmt.where(LabSession.exercise_id == flt.exercise_id)
    if flt.course_id:
        stmt = stmt.where(LabSession.course_id == flt.course_id)
    if flt.statuses:
        stmt = stmt.where(LabSession.status.in_([s.value for s in flt.statuses]))
    return stmt


async def list_sessions(
    runtime: Runtime,
    meta: RequestMeta,
    flt: SessionFilter,
    *,
    page: PageRequest,
) -> Connection:
    """The lab sessions the caller may see, filtered, newest first."""
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    stmt = filtered(select(LabSession).where(await visible_clause(meta.caller)), flt)
    async with runtime.transaction() as session:
        return await paginate_by_time(
            runtime,
            session,
            stmt,
            (LabSession.created_at, LabSession.id),
            page=page,
            descending=True,
        )


@dataclass(frozen=True)
class Capacity:
    organization_id: uuid.UUID
    running: int
    limit: int
    starting: int
    max_concurrent_starts: int


async def capacity(runtime: Runtime, meta: RequestMeta, organization_id: uuid.UUID) -> Capacity:
    """Members of the organization see how full it is."""
    await authorize(meta.caller, Permission.VIEW_COURSES, organization_id)
    async with runtime.transaction() as session:
        org = await org_settings(session, organization_id)
        running = await count_sessions(
            session,
            LabSession.organization_id == organization_id,
            LabSession.status.in_([s.value for s in ACTIVE]),
        )
        starting = await count_sessions(session, LabSession.status.in_([s.value for s in BOOTING]))
    return Capacity(
        organization_id,
        running,
        org.max_running_per_organization,
        starting,
        runtime.settings.labs.max_concurrent_starts,
    )
