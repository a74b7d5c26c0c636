"""The labs domain's operations: the API side (start, pause, resume, stop, heartbeat, reads) writes intents;
the worker side (lifecycle.py) acts on runtimes.

State machine (PostgreSQL, `lab_session.status`): REQUESTED → PROVISIONING → STARTING → RUNNING ⇄ PAUSED
→ STOPPING → STOPPED, or FAILED (with a reason) from any live status. Every transition is `transition()`:
the row is locked, its status checked against the expected ones, changed, and its outbox event (the
contract: subgraphs/contracts/labs.py, docs/domains/labs.md "Events") and live stream event written in the
same transaction; the live event is published after the commit. A transition that finds another status
does nothing and returns None, so two workers or a redelivered event never act twice.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, func, or_, select, text, update

from subgraphs.contracts import labs as contract
from subgraphs.contracts.base import contract_as
from subgraphs.contracts.vocabulary import LabIde, OrganizationSettings
from subgraphs.core.context import DatabaseAccess, RequestMeta, Runtime
from subgraphs.core.db import utcnow
from subgraphs.core.errors import CourseArchived, Forbidden, InvalidInput, NotAuthenticated, NotFound
from subgraphs.core.events import Event, domain_event, emit
from subgraphs.core.live import append_stream_event
from subgraphs.core.pagination import Connection
from subgraphs.core.rbac import Caller, Permission, authorize, organizations_permitting, permitted
from subgraphs.core.time_pagination import paginate_by_time
from subgraphs.labs.errors import (
    InvalidTransition,
    LabCapacityExceeded,
    LabLimitReached,
    LabLimitScope,
    NotEnrolled,
    TemplateNotAllowed,
)
from subgraphs.labs.models import (
    CourseProjection,
    EnrollmentProjection,
    ExerciseProjection,
    LabEvent,
    LabSession,
    LabTemplate,
    OrganizationProjection,
    Outbox,
)

# The worker's consumer group that keeps the course, exercise and enrollment projections (projection.py).
PROJECTION_GROUP = "labs-projection"
log = logging.getLogger("coursegraph.labs")


class LabStatus(StrEnum):
    REQUESTED = "REQUESTED"
    PROVISIONING = "PROVISIONING"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    FAILED = "FAILED"


S = LabStatus
LIVE = frozenset({S.REQUESTED, S.PROVISIONING, S.STARTING, S.RUNNING, S.PAUSED, S.STOPPING})
TERMINAL = frozenset({S.STOPPED, S.FAILED})
BOOTING = frozenset({S.REQUESTED, S.PROVISIONING, S.STARTING})  # count against concurrent starts
# Count against the per-user and per-organization running limits (a paused lab holds no CPU).
ACTIVE = BOOTING | {S.RUNNING}

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

VIEW_ALL = Permission.VIEW_ALL_LABS  # organization admins (core/rbac.py); the owner always sees theirs
STAFF_START = Permission.CREATE_LABS  # instructors and admins: any exercise of their organization
MANAGE = Permission.MANAGE_LABS  # stop anyone's lab (stopLabs, stopLab)
ENROLLED = ("ACTIVE", "COMPLETED")
CAPACITY_RETRY_SECONDS = 10


@dataclass(frozen=True)
class OrgLabSettings:
    idle_timeout_seconds: int
    stop_timeout_seconds: int
    max_session_seconds: int  # since it first became RUNNING, paused time included
    max_concurrent_per_user: int
    max_running_per_organization: int
    memory_mb: int
    cpus: float

    @classmethod
    def of(cls, stored: dict[str, Any] | None) -> OrgLabSettings:
        """The lab limits of an organization's settings as projected (None: not announced yet)."""
        s = OrganizationSettings.of(stored)
        return cls(
            idle_timeout_seconds=s.lab_idle_timeout_seconds,
            stop_timeout_seconds=s.lab_stop_timeout_seconds,
            max_session_seconds=s.lab_max_session_minutes * 60,
            max_concurrent_per_user=s.lab_max_concurrent_per_user,
            max_running_per_organization=s.lab_max_running_per_organization,
            memory_mb=s.lab_memory_mb,
            cpus=s.lab_cpus,
        )


def channel(session_id: uuid.UUID) -> str:
    return f"lab:{session_id}"


def workspace_key(user_id: uuid.UUID, exercise_id: uuid.UUID) -> str:
    return f"{user_id}-{exercise_id}"


async def org_settings(session: Any, organization_id: uuid.UUID) -> OrgLabSettings:
    row = await session.get(OrganizationProjection, organization_id)
    return OrgLabSettings.of(row.settings if row else None)


def idle_deadline(row: LabSession, org: OrgLabSettings) -> datetime | None:
    if row.status != S.RUNNING or row.last_activity_at is None:
        return None
    return row.last_activity_at + timedelta(seconds=org.idle_timeout_seconds)


def stop_deadline(row: LabSession, org: OrgLabSettings) -> datetime | None:
    if row.status == S.PAUSED and row.paused_at is not None:
        return row.paused_at + timedelta(seconds=org.stop_timeout_seconds)
    idle = idle_deadline(row, org)
    return idle + timedelta(seconds=org.stop_timeout_seconds) if idle else None


# --- events -----------------------------------------------------------------------------------------


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
    for message in messages:
        try:
            await runtime.live.publish(channel(session_id), message)
        except Exception:  # subscribers re-read the stored events; the commit stands
            log.exception("could not publish a live event of lab %s", session_id)


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


# --- visibility -------------------------------------------------------------------------------------


async def can_view(caller: Caller, row: LabSession) -> bool:
    principal = caller.principal
    if not principal.is_authenticated:
        return False
    if principal.subject == str(row.user_id):
        return True
    return await permitted(caller, VIEW_ALL, row.organization_id)


async def visible_clause(caller: Caller) -> Any:
    principal = caller.principal
    if not principal.is_authenticated:
        return LabSession.id.is_(None)
    orgs = await organizations_permitting(caller, VIEW_ALL)
    if orgs.every:
        return LabSession.id.is_not(None)
    mine = LabSession.user_id == principal.user_id if principal.user_id else LabSession.id.is_(None)
    return or_(mine, LabSession.organization_id.in_(orgs.uuids()))


async def visible_session(runtime: Runtime, meta: RequestMeta, session_id: uuid.UUID) -> LabSession:
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    async with runtime.transaction() as session:
        row = await session.get(LabSession, session_id)
    if row is None or not await can_view(meta.caller, row):
        # Another tenant's session is as missing as one that does not exist.
        raise NotFound("No such lab session.")
    return row


async def owned_session(runtime: Runtime, meta: RequestMeta, session_id: uuid.UUID) -> LabSession:
    row = await visible_session(runtime, meta, session_id)
    if meta.principal.subject != str(row.user_id):
        raise Forbidden("Only the lab's owner may do this.")
    return row


async def get_session(runtime: Runtime, meta: RequestMeta, session_id: uuid.UUID) -> LabSession | None:
    try:
        return await visible_session(runtime, meta, session_id)
    except NotFound:
        return None


# --- start ------------------------------------------------------------------------------------------


# When an exercise's preferred IDE cannot run here: JupyterLab (an editor, a terminal and notebooks), else
# the terminal.
FALLBACK_IDES = (LabIde.JUPYTER, LabIde.TERMINAL, LabIde.VSCODE)

# The IDEs the worker's runtime can start (JSON list), refreshed by its monitor (lifecycle.report_available).
AVAILABLE_KEY = "labs:available-ides"


async def available_ides(runtime: DatabaseAccess) -> frozenset[str]:
    """What can start on this platform now: an IDE whose program or image is missing, or every IDE while no
    worker runs, is not offered."""
    raw = await runtime.redis.get(AVAILABLE_KEY)
    return frozenset(json.loads(raw)) if raw else frozenset()


async def offered_templates(runtime: DatabaseAccess) -> list[LabTemplate]:
    available = await available_ides(runtime)
    async with runtime.transaction() as session:
        rows = (await session.scalars(select(LabTemplate).order_by(LabTemplate.ide))).all()
    return [row for row in rows if row.ide in available]


def template_allows(template: LabTemplate, organization_id: uuid.UUID) -> bool:
    allowed = template.allowed_organization_ids
    return allowed is None or str(organization_id) in allowed


async def start(
    runtime: Runtime, meta: RequestMeta, *, exercise_id: uuid.UUID, ide: LabIde | None = None
) -> LabSession:
    """Request a lab for an exercise (REQUESTED + `labs.session.requested`; the worker starts it).

    Idempotent: while the caller has a live session of this exercise, that session is returned."""
    principal = meta.principal
    if not principal.is_authenticated:
        raise NotAuthenticated()
    user_id = principal.user_id
    if user_id is None:
        raise Forbidden("Labs belong to users; API clients cannot start one.")
    async with runtime.transaction() as session:

        async def read() -> tuple[Any, Any, Any]:
            exercise = await session.get(ExerciseProjection, exercise_id)
            course = await session.get(CourseProjection, exercise.course_id) if exercise else None
            enrollment = (
                await session.get(EnrollmentProjection, (exercise.course_id, user_id)) if exercise else None
            )
            return exercise, course, enrollment

        exercise, course, enrollment = await read()
        # Read your writes: an exercise or enrollment made a moment ago may not have reached the projection.
        enrolled = enrollment is not None and enrollment.status in ENROLLED
        if (exercise is None or not enrolled) and await runtime.caught_up("courses", PROJECTION_GROUP):
            exercise, course, enrollment = await read()
        existing = await _live_session(session, user_id, exercise_id)
    if exercise is None or exercise.deleted or (course is not None and course.status == "DELETED"):
        raise NotFound("No such exercise.")
    org_id = exercise.organization_id
    if existing is not None:
        return existing
    if course is not None and course.status == "ARCHIVED":
        raise CourseArchived("This course is archived: its exercises start no new labs.")
    if not await permitted(meta.caller, STAFF_START, org_id):
        if not await permitted(meta.caller, Permission.VIEW_COURSES, org_id):
            raise NotFound("No such exercise.")  # strangers learn nothing about other organizations
        if enrollment is None or enrollment.status not in ENROLLED:
            raise NotEnrolled()
    available = await available_ides(runtime)
    chosen = ide or LabIde(exercise.ide)
    if ide is None and chosen.value not in available:
        # The exercise's preferred IDE cannot run here (VS Code without code-server): the best one that can.
        chosen = next((i for i in FALLBACK_IDES if i.value in available), chosen)
    settings = runtime.settings
    async with runtime.transaction() as session:
        template = await session.scalar(select(LabTemplate).where(LabTemplate.ide == chosen.value))
        if template is None or not template_allows(template, org_id):
            raise TemplateNotAllowed()
        if chosen.value not in available:
            raise TemplateNotAllowed(f"{template.name} labs cannot run on this platform right now.")
        # One decision at a time: the limits below hold under concurrent starts.
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended('labs:start', 0))"))
        existing = await _live_session(session, user_id, exercise_id)
        if existing is not None:
            return existing
        org = await org_settings(session, org_id)
        booting = await _count(session, LabSession.status.in_([s.value for s in BOOTING]))
        if booting >= settings.labs.max_concurrent_starts:
            raise LabCapacityExceeded(CAPACITY_RETRY_SECONDS)
        active = [s.value for s in ACTIVE]
        mine = await _count(session, LabSession.user_id == user_id, LabSession.status.in_(active))
        if mine >= org.max_concurrent_per_user:
            raise LabLimitReached(LabLimitScope.USER, org.max_concurrent_per_user)
        theirs = await _count(session, LabSession.organization_id == org_id, LabSession.status.in_(active))
        if theirs >= org.max_running_per_organization:
            raise LabLimitReached(LabLimitScope.ORGANIZATION, org.max_running_per_organization)
        limits = settings.rate_limits
        await runtime.rate_limiter.hit(
            f"lab-create:{user_id}",
            limit=limits.lab_create_per_user,
            window_seconds=limits.lab_create_per_user_window_seconds,
        )
        now = utcnow()
        row = LabSession(
            id=uuid.uuid4(),
            user_id=user_id,
            organization_id=org_id,
            exercise_id=exercise_id,
            course_id=exercise.course_id,
            template_id=template.id,
            ide=chosen.value,
            status=S.REQUESTED.value,
            workspace_key=workspace_key(user_id, exercise_id),
            image=template.image,
            serves_base_url=template.serves_base_url,
            # The organization's settings cap the template's defaults.
            cpus=min(template.cpus, org.cpus),
            memory_bytes=min(template.memory_mb, org.memory_mb) * 1024 * 1024,
            pids=template.pids,
            created_at=now,
            status_changed_at=now,
            running_seconds_unreported=0.0,
        )
        session.add(row)
        await session.flush()
        live = await stream_event(session, row, "Requested.", 0)
        emit(session, Outbox, contract_event(row, REQUESTED, actor=principal.subject, meta=meta))
    await publish(runtime, row.id, live)
    return row


async def _live_session(session: Any, user_id: uuid.UUID, exercise_id: uuid.UUID) -> LabSession | None:
    return await session.scalar(
        select(LabSession).where(
            LabSession.user_id == user_id,
            LabSession.exercise_id == exercise_id,
            LabSession.status.in_([s.value for s in LIVE]),
        )
    )


async def _count(session: Any, *where: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(LabSession).where(*where)) or 0)


# --- owner actions: intents the worker carries out ---------------------------------------------------


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


# --- admin ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionFilter:
    organization_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    exercise_id: uuid.UUID | None = None
    course_id: uuid.UUID | None = None
    statuses: tuple[LabStatus, ...] = ()


def _filtered(stmt: Select, flt: SessionFilter) -> Select:
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


async def stop_many(runtime: Runtime, meta: RequestMeta, flt: SessionFilter) -> list[LabSession]:
    """Admin: stop every live session of an organization matching the filter (MANAGE_LABS there)."""
    if flt.organization_id is None:
        raise InvalidInput({"filter.organizationId": "Required."})
    await authorize(meta.caller, MANAGE, flt.organization_id)
    statuses = tuple(s for s in (flt.statuses or tuple(LIVE)) if s in LIVE and s != S.STOPPING)
    stmt = _filtered(select(LabSession), SessionFilter(**{**flt.__dict__, "statuses": statuses}))
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


# --- reads ------------------------------------------------------------------------------------------


async def list_sessions(
    runtime: Runtime,
    meta: RequestMeta,
    flt: SessionFilter,
    *,
    first: int | None,
    after: str | None,
    to_node: Any,
) -> Connection:
    """The lab sessions the caller may see, filtered, newest first."""
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    stmt = _filtered(select(LabSession).where(await visible_clause(meta.caller)), flt)
    async with runtime.transaction() as session:
        return await paginate_by_time(
            runtime,
            session,
            stmt,
            (LabSession.created_at, LabSession.id),
            first=first,
            after=after,
            to_node=to_node,
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
        running = await _count(
            session,
            LabSession.organization_id == organization_id,
            LabSession.status.in_([s.value for s in ACTIVE]),
        )
        starting = await _count(session, LabSession.status.in_([s.value for s in BOOTING]))
    return Capacity(
        organization_id,
        running,
        org.max_running_per_organization,
        starting,
        runtime.settings.labs.max_concurrent_starts,
    )


def running_seconds_now(row: LabSession) -> float:
    if row.running_since is None:
        return 0.0
    return max(0.0, (utcnow() - row.running_since).total_seconds())


def retry_after(seconds: float) -> int:
    return max(1, math.ceil(seconds))
