"""Enrollments: a student enrolls in a published course they can see, completes its lessons (progress) and
rates it; the course's content changes recompute everyone's progress (`refresh_progress`)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.contracts import courses as contract
from subgraphs.core.auth import require_user
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.db import utcnow
from subgraphs.core.errors import CourseArchived, InvalidInput, NotAuthenticated, NotFound
from subgraphs.core.events import emit, request_event
from subgraphs.core.rbac import authorize, permitted
from subgraphs.core.text import clean_long
from subgraphs.courses.access import MANAGE, VIEW, can_view
from subgraphs.courses.errors import AlreadyEnrolled, EnrollmentFull, NotEnrollable, NotEnrolled
from subgraphs.courses.events import enrollment_event
from subgraphs.courses.models import (
    Course,
    CourseFeedback,
    CourseStatus,
    Enrollment,
    EnrollmentStatus,
    Lesson,
    LessonCompletion,
    Module,
    Outbox,
)


def progress_of(done: int, total: int) -> int:
    return 0 if total == 0 else min(100, done * 100 // total)


async def refresh_progress(session: AsyncSession, course_id: uuid.UUID) -> None:
    """Recompute progress of every enrollment of the course (after lessons were added or removed)."""
    total = (
        select(func.count())
        .select_from(Lesson)
        .join(Module, Module.id == Lesson.module_id)
        .where(Lesson.course_id == course_id, Lesson.published, Module.published)  # drafts do not count
        .scalar_subquery()
    )
    done = (
        select(func.count())
        .select_from(LessonCompletion)
        .where(LessonCompletion.enrollment_id == Enrollment.id)
        .scalar_subquery()
    )
    await session.execute(
        update(Enrollment)
        .where(Enrollment.course_id == course_id)
        .values(progress_percent=func.coalesce(func.least(100, done * 100 / func.nullif(total, 0)), 0))
    )


async def enroll(runtime: Runtime, meta: RequestMeta, *, course_id: uuid.UUID) -> Enrollment:
    """Enroll the signed-in user in a published course they can see, once, within the cap. A dropped
    enrollment is reactivated (its progress kept)."""
    user_id = require_user(meta.principal)
    async with runtime.transaction() as session:
        # The row lock serializes enrollments of one course: the cap holds under concurrency.
        course = await session.get(Course, course_id, with_for_update=True)
        if course is None:
            raise NotFound("No such course.")
        member = await permitted(meta.caller, VIEW, course.organization_id)
        if course.status != CourseStatus.PUBLISHED:
            if member or meta.principal.is_site_admin:
                raise NotEnrollable(
                    "This course is archived." if course.status == CourseStatus.ARCHIVED else None
                )
            raise NotFound("No such course.")
        if not await can_view(meta.caller, course):
            await authorize(meta.caller, VIEW, course.organization_id)  # raises AccessDenied
        existing = await session.scalar(
            select(Enrollment)
            .where(Enrollment.course_id == course_id, Enrollment.user_id == user_id)
            .with_for_update()
        )
        if existing is not None and existing.status != EnrollmentStatus.DROPPED:
            raise AlreadyEnrolled()
        if course.enrollment_cap is not None:
            taken = await session.scalar(
                select(func.count())
                .select_from(Enrollment)
                .where(Enrollment.course_id == course_id, Enrollment.status != EnrollmentStatus.DROPPED.value)
            )
            if (taken or 0) >= course.enrollment_cap:
                raise EnrollmentFull()
        now = utcnow()
        if existing is not None:
            enrollment = existing
            enrollment.status = EnrollmentStatus.ACTIVE.value
            enrollment.completed_at = None
            enrollment.last_activity_at = now
        else:
            enrollment = Enrollment(
                course_id=course_id,
                user_id=user_id,
                organization_id=course.organization_id,
                status=EnrollmentStatus.ACTIVE.value,
                progress_percent=0,
                enrolled_at=now,
                last_activity_at=now,
            )
            session.add(enrollment)
        await session.flush()
        emit(session, Outbox, enrollment_event(meta, "created", enrollment, reactivated=existing is not None))
    return enrollment


async def drop_enrollment(runtime: Runtime, meta: RequestMeta, *, enrollment_id: uuid.UUID) -> Enrollment:
    """The student drops their enrollment (or a manager of the course's organization drops it)."""
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    async with runtime.transaction() as session:
        enrollment = await session.get(Enrollment, enrollment_id, with_for_update=True)
        if enrollment is None:
            raise NotFound("No such enrollment.")
        if meta.principal.user_id != enrollment.user_id:
            await authorize(meta.caller, MANAGE, enrollment.organization_id)
        if enrollment.status == EnrollmentStatus.DROPPED:
            raise NotEnrolled("This enrollment was already dropped.")
        enrollment.status = EnrollmentStatus.DROPPED.value
        enrollment.last_activity_at = utcnow()
        await session.flush()
        emit(session, Outbox, enrollment_event(meta, "dropped", enrollment))
    return enrollment


async def complete_lesson(runtime: Runtime, meta: RequestMeta, *, lesson_id: uuid.UUID) -> Enrollment:
    """Mark a lesson done for the signed-in student; progress = lessons done / lessons of the course.
    Completing every lesson completes the enrollment. Idempotent."""
    user_id = require_user(meta.principal)
    async with runtime.transaction() as session:
        lesson = await session.get(Lesson, lesson_id)
        if lesson is None:
            raise NotFound("No such lesson.")
        enrollment = await session.scalar(
            select(Enrollment)
            .where(Enrollment.course_id == lesson.course_id, Enrollment.user_id == user_id)
            .with_for_update()
        )
        if enrollment is None or enrollment.status == EnrollmentStatus.DROPPED:
            raise NotEnrolled()
        status = await session.scalar(select(Course.status).where(Course.id == lesson.course_id))
        if status == CourseStatus.ARCHIVED:
            raise CourseArchived()
        inserted = await session.scalar(
            insert(LessonCompletion)
            .values(enrollment_id=enrollment.id, lesson_id=lesson.id, completed_at=utcnow())
            .on_conflict_do_nothing()
            .returning(LessonCompletion.lesson_id)
        )
        done, total = (
            await session.execute(
                select(
                    select(func.count())
                    .select_from(LessonCompletion)
                    .where(LessonCompletion.enrollment_id == enrollment.id)
                    .scalar_subquery(),
                    select(func.count())
                    .select_from(Lesson)
                    .where(Lesson.course_id == lesson.course_id)
                    .scalar_subquery(),
                )
            )
        ).one()
        now = utcnow()
        enrollment.progress_percent = progress_of(done, total)
        enrollment.last_activity_at = now
        finished = enrollment.progress_percent == 100 and enrollment.status == EnrollmentStatus.ACTIVE
        if finished:
            enrollment.status = EnrollmentStatus.COMPLETED.value
            enrollment.completed_at = now
        await session.flush()
        if inserted is not None:
            emit(
                session,
                Outbox,
                request_event(
                    meta,
                    contract.LessonCompleted(
                        user_id=user_id,
                        course_id=lesson.course_id,
                        lesson_id=lesson.id,
                        enrollment_id=enrollment.id,
                        progress_percent=enrollment.progress_percent,
                    ),
                    organization_id=enrollment.organization_id,
                    subjects={"user_id": user_id, "course_id": lesson.course_id, "lesson_id": lesson.id},
                ),
            )
        if finished:
            emit(session, Outbox, enrollment_event(meta, "completed", enrollment))
    return enrollment


async def submit_feedback(
    runtime: Runtime, meta: RequestMeta, *, course_id: uuid.UUID, rating: int, comment: str | None
) -> CourseFeedback:
    """An enrolled student rates the course 1-5 (a second submission replaces the first)."""
    user_id = require_user(meta.principal)
    if not 1 <= rating <= 5:
        raise InvalidInput({"input.rating": "Rate from 1 to 5."})
    comment = clean_long(comment, "input.comment", limit=5000)
    async with runtime.transaction() as session:
        enrollment = await session.scalar(
            select(Enrollment).where(Enrollment.course_id == course_id, Enrollment.user_id == user_id)
        )
        if enrollment is None or enrollment.status == EnrollmentStatus.DROPPED:
            raise NotEnrolled("Only enrolled students give feedback on a course.")
        now = utcnow()
        upsert = (
            insert(CourseFeedback)
            .values(
                id=uuid.uuid4(),
                course_id=course_id,
                user_id=user_id,
                rating=rating,
                comment=comment,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_update(
                index_elements=[CourseFeedback.course_id, CourseFeedback.user_id],
                set_={"rating": rating, "comment": comment, "updated_at": now},
            )
            .returning(CourseFeedback)
        )
        feedback = (await session.scalars(upsert)).one()
        emit(
            session,
            Outbox,
            request_event(
                meta,
                contract.FeedbackSubmitted(rating=rating),
                organization_id=enrollment.organization_id,
                subjects={"course_id": course_id, "user_id": user_id, "feedback_id": feedback.id},
            ),
        )
    return feedback
