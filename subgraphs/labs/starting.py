"""Starting a lab: the request (REQUESTED + `labs.session.requested`; the worker starts it), under the
organization's limits, with the IDEs this platform can run now."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select, text

from subgraphs.contracts.vocabulary import LabIde
from subgraphs.core.context import DatabaseAccess, RequestMeta, Runtime
from subgraphs.core.db import utcnow
from subgraphs.core.errors import CourseArchived, Forbidden, NotAuthenticated, NotFound
from subgraphs.core.events import emit
from subgraphs.core.rbac import Permission, permitted
from subgraphs.labs.errors import (
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
    LabSession,
    LabTemplate,
    Outbox,
)
from subgraphs.labs.projection import PROJECTION_GROUP
from subgraphs.labs.states import ACTIVE, BOOTING, LIVE, S, count_sessions, org_settings
from subgraphs.labs.transitions import REQUESTED, contract_event, publish, stream_event

STAFF_START = Permission.CREATE_LABS  # instructors and admins: any exercise of their organization
ENROLLED = ("ACTIVE", "COMPLETED")
CAPACITY_RETRY_SECONDS = 10


def workspace_key(user_id: uuid.UUID, exercise_id: uuid.UUID) -> str:
    return f"{user_id}-{exercise_id}"


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
        booting = await count_sessions(session, LabSession.status.in_([s.value for s in BOOTING]))
        if booting >= settings.labs.max_concurrent_starts:
            raise LabCapacityExceeded(CAPACITY_RETRY_SECONDS)
        active = [s.value for s in ACTIVE]
        mine = await count_sessions(session, LabSession.user_id == user_id, LabSession.status.in_(active))
        if mine >= org.max_concurrent_per_user:
            raise LabLimitReached(LabLimitScope.USER, org.max_concurrent_per_user)
        theirs = await count_sessions(
            session, LabSession.organization_id == org_id, LabSession.status.in_(active)
        )
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
