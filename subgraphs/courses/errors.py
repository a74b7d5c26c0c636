"""Error codes of the courses domain. Each is a ConflictError (or ValidationError) with its own code."""

from __future__ import annotations

from enum import StrEnum

from subgraphs.core.errors import Conflict, DomainError


class CourseErrorCode(StrEnum):
    SLUG_TAKEN = "SLUG_TAKEN"
    NOT_PUBLISHABLE = "NOT_PUBLISHABLE"
    COURSE_ARCHIVED = "COURSE_ARCHIVED"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    HAS_ENROLLMENTS = "HAS_ENROLLMENTS"
    ALREADY_ENROLLED = "ALREADY_ENROLLED"
    NOT_ENROLLABLE = "NOT_ENROLLABLE"
    ENROLLMENT_FULL = "ENROLLMENT_FULL"
    NOT_ENROLLED = "NOT_ENROLLED"


class SlugTaken(Conflict):
    default_code = CourseErrorCode.SLUG_TAKEN.value
    default_message = "Another course of this organization uses this slug (input.slug)."


class NotPublishable(Conflict):
    default_code = CourseErrorCode.NOT_PUBLISHABLE.value
    default_message = "A course is published with at least one module holding a lesson."


class InvalidTransition(Conflict):
    default_code = CourseErrorCode.INVALID_TRANSITION.value
    default_message = "The course's status does not allow this."


class HasEnrollments(Conflict):
    default_code = CourseErrorCode.HAS_ENROLLMENTS.value
    default_message = "Students are enrolled in this course: archive it instead."


class AlreadyEnrolled(Conflict):
    default_code = CourseErrorCode.ALREADY_ENROLLED.value
    default_message = "You are already enrolled in this course."


class NotEnrollable(Conflict):
    default_code = CourseErrorCode.NOT_ENROLLABLE.value
    default_message = "Only published courses take enrollments."


class EnrollmentFull(Conflict):
    default_code = CourseErrorCode.ENROLLMENT_FULL.value
    default_message = "This course has reached its enrollment cap."


class NotEnrolled(Conflict):
    default_code = CourseErrorCode.NOT_ENROLLED.value
    default_message = "You are not enrolled in this course."


COURSES_ERRORS: tuple[type[DomainError], ...] = ()
