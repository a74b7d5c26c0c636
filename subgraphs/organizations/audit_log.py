"""Reading the audit log (audit.py writes it from every domain's events)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select

from subgraphs.core.auth import require_site_admin
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.pagination import Connection, PageRequest, paginate_by_time
from subgraphs.core.rbac import authorize
from subgraphs.organizations.models import AuditLogEntry
from subgraphs.organizations.roles import VIEW_AUDIT_LOG


@dataclass
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _audit_filter(stmt: Select, filter: AuditFilter) -> Select:
    if filter.actor:
        stmt = stmt.where(AuditLogEntry.actor_id == filter.actor)
    if filter.action:
        if filter.action.endswith(".*"):
            prefix = filter.action[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(AuditLogEntry.action.like(prefix + "%"))
        else:
            stmt = stmt.where(AuditLogEntry.action == filter.action)
    if filter.since:
        stmt = stmt.where(AuditLogEntry.occurred_at >= filter.since)
    if filter.until:
        stmt = stmt.where(AuditLogEntry.occurred_at < filter.until)
    return stmt


async def list_audit_log(
    runtime: Runtime,
    meta: RequestMeta,
    *,
    organization_id: uuid.UUID | None,
    filter: AuditFilter,
    page: PageRequest,
) -> Connection:
    """Newest first. One organization's entries (VIEW_AUDIT_LOGS there), or, without an organization,
    every entry of the platform (site admins)."""
    if organization_id is None:
        require_site_admin(meta.principal, "Only site administrators read the platform-wide audit log.")
        stmt = select(AuditLogEntry)
    else:
        await authorize(meta.caller, VIEW_AUDIT_LOG, organization_id)
        stmt = select(AuditLogEntry).where(AuditLogEntry.organization_id == organization_id)
    async with runtime.transaction() as session:
        return await paginate_by_time(
            runtime,
            session,
            _audit_filter(stmt, filter),
            (AuditLogEntry.occurred_at, AuditLogEntry.id),
            page=page,
            descending=True,
        )
