"""What owners and administrators do to a running lab: intents the worker carries out (pause, resume,
stop, stop many), and activity that keeps a lab from its idle pause."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update

from subgraphs.core.context import DatabaseAccess, RequestMeta, Runtime
from subgraphs.core.db import utcnow
from subgraphs.core.errors import InvalidInput
from subgraphs.core.events import emit
from subgraphs.core.rbac import Permission, authorize
from subgraphs.labs.access import owned_session, visible_session
from subgraphs.labs.errors import InvalidTransition
from subgraphs.labs.models import LabSession, Outbox
from subgraphs.labs.queries import SessionFilter, filtered
from subgraphs.labs.states import LIVE, LabStatus, S
from subgraphs.labs.transitions import (
    PAUSE_REQUESTED,
    PROGRESS_OF,
    RESUME_REQUESTED,
    STOP_REQUESTED,
    contract_event,
    publish,
    stream_event,
)

MANAGE = Permission.MANAGE_LABS  # stop anyone's lab (stopLabs, stopLab)


async def _intent(
    runtime: Runtime,
    meta: RequestMeta,
    row: LabSession,
    *,
    allowed: frozenset[LabStatus],
    verb: str,
    event_type: str,
    message: str,
    change: dict[str, Any],
) -> LabSession:
    async with runtime.transaction() as session:
        locked = await session.get(LabSession, row.id, with_for_update=True, populate_existing=True)
        assert locked is not None
        if locked.status not in allowed:
            raise InvalidTransition(locked.status, verb)
        for key, value in change.items():
            setattr(locked, key, value)
        if change.get("status") == S.STOPPING:
            if locked.running_since is not None:
                locked.running_seconds_unreported += (utcnow() - locked.running_since).total_seconds()
                locked.running_since = None
            locked.status_changed_at = utcnow()
            locked.requested_action = None
        live = await stream_event(session, locked, message, PROGRESS_OF[LabStatus(locked.status)])
        emit(
            session,
            Outbox,
            contract_event(
                locked, event_type, actor=meta.principal.subject, meta=meta, reason=locked.stop_reason
            ),
        )
    await publish(runtime, row.id, live)
    return locked


async def pause(runtime: Runtime, meta: RequestMeta, session_id: uuid.UUID) -> LabSession:
    row = await owned_session(runtime, meta, session_id)
    return await _intent(
        runtime,
        meta,
        row,
        allowed=frozenset({S.RUNNING}),
        verb="paused",
        event_type=PAUSE_REQUESTED,
        message="Pause requested.",
        change={"requested_action": "PAUSE", "stop_reason": "user"},
    )


async def resume(runtime: Runtime, meta: RequestMeta, session_id: uuid.UUID) -> LabSession:
    row = await owned_session(runtime, meta, session_id)
    return await _intent(
        runtime,
        meta,
        row,
        allowed=frozenset({S.PAUSED}),
        verb="resumed",
        event_type=RESUME_REQUESTED,
        message="Resume requested.",
        change={"requested_action": "RESUME"},
    )


async def stop(runtime: Runtime, meta: RequestMeta, session_id: uuid.UUID) -> LabSession:
    """The owner, or a holder of MANAGE_LABS in its organization (reason `admin`)."""
    row = await visible_session(runtime, meta, session_id)
    if meta.principal.subject == str(row.user_id):
        reason = "user"
    else:
        await authorize(meta.caller, MANAGE, row.organization_id)
        reason = "admin"
    return await _intent(
        runtime,
        meta,
        row,
        allowed=LIVE - {S.STOPPING},
        verb="stopped",
        event_type=STOP_REQUESTED,
        message="Stopping.",
        change={"status": S.STOPPING.value, "stop_reason": reason},
    )


async def heartbeat(runtime: Runtime, meta: RequestMeta, session_id: uuid.UUID) -> LabSession:
    """Activity from the IDE page: postpones the idle pause."""
    row = await owned_session(runtime, meta, session_id)
    async with runtime.transaction() as session:
        updated = await session.scalar(
            update(LabSession)
            .where(LabSession.id == row.id, LabSession.status == S.RUNNING.value)
            .values(last_activity_at=utcnow())
            .returning(LabSession)
        )
    if updated is None:
        raise InvalidTransition(row.status, "kept alive (only a running lab can)")
    return updated


async def record_activity(runtime: DatabaseAccess, session_id: uuid.UUID) -> bool:
    """Proxied traffic: update lastActivityAt at most once per `activity_throttle_seconds` (Redis)."""
    throttle = runtime.settings.labs.activity_throttle_seconds
    if not await runtime.redis.set(f"labs:activity:{session_id}", 1, nx=True, ex=max(1, throttle)):
        return False
    async with runtime.transaction() as session:
        await session.execute(
            update(LabSession)
            .where(LabSession.id == session_id, LabSession.status == S.RUNNING.value)
            .values(last_activity_at=utcnow())
        )
    return True


async def stop_many(runtime: Runtime, meta: RequestMeta, flt: SessionFilter) -> list[LabSession]:
    """Admin: stop every live session of an organization matching the filter (MANAGE_LABS there)."""
    if flt.organization_id is None:
        raise InvalidInput({"filter.organizationId": "Required."})
    await authorize(meta.caller, MANAGE, flt.organization_id)
    statuses = tuple(s for s in (flt.statuses or tuple(LIVE)) if s in LIVE and s != S.STOPPING)
    stmt = filtered(select(LabSession), SessionFilter(**{**flt.__dict__, "statuses": statuses}))
    lives: list[dict[str, Any]] = []
    async with runtime.transaction() as session:
        rows = (await session.scalars(stmt.order_by(LabSession.id).with_for_update())).all()
        for row in rows:
            if row.running_since is not None:
                row.running_seconds_unreported += (utcnow() - row.running_since).total_seconds()
                row.running_since = None
            row.status = S.STOPPING.value
            row.status_changed_at = utcnow()
            row.stop_reason = "admin"
            row.requested_action = None
            lives.append(await stream_event(session, row, "Stopping (by an administrator).", 100))
            emit(
                session,
                Outbox,
                contract_event(row, STOP_REQUESTED, actor=meta.principal.subject, meta=meta, reason="admin"),
            )
    for row, live in zip(rows, lives, strict=True):
        await publish(runtime, row.id, live)
    return list(rows)
