"""Moving a lab session from one status to the next, with its events.

Every transition is `transition()`: the row is locked, its status checked against the expected ones, changed,
and its outbox event (the contract: subgraphs/contracts/labs.py, docs/domains/labs.md "Events") and live
stream event written in the same transaction; the live event is published after the commit. A transition
that finds another status does nothing and returns None, so two workers or a redelivered event never act
twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from subgraphs.contracts import labs as contract
from subgraphs.contracts.base import contract_as
from subgraphs.contracts.vocabulary import LabIde
from subgraphs.core.context import DatabaseAccess, RequestMeta
from subgraphs.core.db import utcnow
from subgraphs.core.events import Event, domain_event, emit
from subgraphs.core.live import append_stream_event
from subgraphs.labs.models import LabEvent, LabSession, Outbox
from subgraphs.labs.states import TERMINAL, LabStatus, S

# The contract's event types (docs/domains/labs.md, "Events"), then the intents the worker acts on.
REQUESTED = contract.LabSessionRequested.TYPE
STARTED = contract.LabSessionStarted.TYPE
PAUSED = contract.LabSessionPaused.TYPE
RESUMED = contract.LabSessionResumed.TYPE
STOPPED = contract.LabSessionStopped.TYPE
FAILED = contract.LabSessionFailed.TYPE
PAUSE_REQUESTED = contract.LabSessionPauseRequested.TYPE
RESUME_REQUESTED = contract.LabSessionResumeRequested.TYPE
STOP_REQUESTED = contract.LabSessionStopRequested.TYPE


def channel(session_id: uuid.UUID) -> str:
    return f"lab:{session_id}"


def contract_event(
    row: LabSession,
    type_: str,
    *,
    actor: str | None,
    meta: RequestMeta | None,
    running_seconds: float = 0.0,
    reason: str | None = None,
) -> Event:
    payload = contract_as(type_, contract.LabSessionSnapshot)(
        session_id=row.id,
        user_id=row.user_id,
        organization_id=row.organization_id,
        exercise_id=row.exercise_id,
        course_id=row.course_id,
        ide=LabIde(row.ide),
        status=row.status,
        running_seconds=float(running_seconds),
        reason=reason,
    )
    subjects = {
        "session_id": row.id,
        "user_id": row.user_id,
        "exercise_id": row.exercise_id,
        "course_id": row.course_id,
    }
    return domain_event(
        payload, actor=actor, meta=meta, organization_id=row.organization_id, subjects=subjects
    )


async def stream_event(session: Any, row: LabSession, message: str, progress: int) -> dict[str, Any]:
    event = await append_stream_event(
        session, LabEvent, row.id, {"status": row.status, "progress": progress, "message": message}
    )
    return event.as_message()


async def publish(runtime: DatabaseAccess, session_id: uuid.UUID, *messages: dict[str, Any]) -> None:
    await runtime.live.publish_or_log(channel(session_id), *messages, of=f"lab {session_id}")


# Outbox event per target status (None: the transition is announced by an intent event or not at all).
EVENT_OF = {S.RUNNING: STARTED, S.PAUSED: PAUSED, S.STOPPED: STOPPED, S.FAILED: FAILED}
PROGRESS_OF = {
    S.REQUESTED: 0,
    S.PROVISIONING: 10,
    S.STARTING: 70,
    S.RUNNING: 100,
    S.PAUSED: 100,
    S.STOPPING: 100,
    S.STOPPED: 100,
    S.FAILED: 100,
}


@dataclass
class Transition:
    to: LabStatus
    message: str
    reason: str | None = None  # failure reason (FAILED) or idle/user/admin/reconciler
    event_type: str | None = None  # default: EVENT_OF[to]; RUNNING from PAUSED is `resumed`
    values: dict[str, Any] = field(default_factory=dict)
    when: Any = None  # an extra check on the locked row: transition only if when(row) is true


async def transition(
    runtime: DatabaseAccess,
    session_id: uuid.UUID,
    expected: frozenset[LabStatus] | set[LabStatus],
    change: Transition,
    *,
    actor: str | None = None,
    meta: RequestMeta | None = None,
) -> LabSession | None:
    """Move a session from one of `expected` to `change.to` with its events, or do nothing (None)."""
    async with runtime.transaction() as session:
        row = await session.get(LabSession, session_id, with_for_update=True, populate_existing=True)
        if row is None or row.status not in expected or (change.when and not change.when(row)):
            return None
        message = apply(row, change)
        live = await stream_event(session, row, change.message, PROGRESS_OF[change.to])
        if message:
            emit(session, Outbox, contract_event(row, message[0], actor=actor, meta=meta, **message[1]))
    await publish(runtime, session_id, live)
    return row


def apply(row: LabSession, change: Transition) -> tuple[str, dict[str, Any]] | None:
    """Change the row; returns (event type, running_seconds/reason) of its outbox event, if any."""
    now = utcnow()
    before = row.status
    if before == S.RUNNING and change.to != S.RUNNING and row.running_since is not None:
        row.running_seconds_unreported += (now - row.running_since).total_seconds()
        row.running_since = None
    row.status = change.to.value
    row.status_changed_at = now
    if change.to == S.RUNNING:
        row.running_since = now
        row.last_activity_at = now
        row.started_at = row.started_at or now
        row.paused_at = None
        row.requested_action = None
    elif change.to == S.PAUSED:
        row.paused_at = now
        row.requested_action = None
    elif change.to in (S.STOPPING,):
        row.stop_reason = change.reason
        row.requested_action = None
    elif change.to in TERMINAL:
        row.stopped_at = now
        row.requested_action = None
        if change.to == S.FAILED:
            row.failure_reason = change.reason
    for key, value in change.values.items():
        setattr(row, key, value)
    event_type = change.event_type or EVENT_OF.get(change.to)
    if event_type is None:
        return None
    extra: dict[str, Any] = {"reason": change.reason}
    if change.to in (S.PAUSED, S.STOPPED, S.FAILED):
        extra["running_seconds"] = round(row.running_seconds_unreported, 3)
        row.running_seconds_unreported = 0.0
    if change.to == S.RUNNING:
        extra["reason"] = None
        if before == S.PAUSED:
            event_type = RESUMED
    return event_type, extra
