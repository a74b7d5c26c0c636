"""The events the courses domain announces (subgraphs.contracts.courses), each built from the row it is
about; the caller emits it into the outbox in the transaction of the change."""

from __future__ import annotations

from typing import Any

from subgraphs.contracts import courses as contract
from subgraphs.contracts.base import contract_as
from subgraphs.contracts.vocabulary import LabIde
from subgraphs.core.context import RequestMeta
from subgraphs.core.events import Event, request_event
from subgraphs.courses.models import Course, Enrollment, Exercise


def course_event(meta: RequestMeta, verb: str, course: Course, **extra: Any) -> Event:
    payload = contract_as(f"courses.course.{verb}", contract.CourseSnapshot)(
        course_id=course.id,
        organization_id=course.organization_id,
        instructor_id=course.instructor_id,
        status=course.status,
        title=course.title,
        **extra,
    )
    return request_event(
        meta, payload, organization_id=course.organization_id, subjects={"course_id": course.id}
    )


def content_event(meta: RequestMeta, type_: str, course: Course, **subjects: Any) -> Event:
    payload = contract_as(type_, contract.ContentChanged)()
    return request_event(
        meta, payload, organization_id=course.organization_id, subjects={"course_id": course.id, **subjects}
    )


def exercise_event(meta: RequestMeta, verb: str, course: Course, exercise: Exercise) -> Event:
    # The payload is what the labs domain projects (exercise -> course, organization, preferred IDE, the
    # starter files a lab's new workspace gets).
    payload = contract_as(f"courses.exercise.{verb}", contract.ExerciseSnapshot)(
        exercise_id=exercise.id,
        course_id=course.id,
        organization_id=course.organization_id,
        ide=LabIde(exercise.ide),
        starter_files=[contract.StarterFile(**f) for f in exercise.starter_files or []],
    )
    subjects = {"course_id": course.id, "exercise_id": exercise.id}
    return request_event(meta, payload, organization_id=course.organization_id, subjects=subjects)


def enrollment_event(meta: RequestMeta, verb: str, e: Enrollment, **extra: Any) -> Event:
    payload = contract_as(f"courses.enrollment.{verb}", contract.EnrollmentSnapshot)(
        enrollment_id=e.id,
        user_id=e.user_id,
        course_id=e.course_id,
        organization_id=e.organization_id,
        status=e.status,
        **extra,
    )
    subjects = {"enrollment_id": e.id, "user_id": e.user_id, "course_id": e.course_id}
    return request_event(meta, payload, organization_id=e.organization_id, subjects=subjects)
