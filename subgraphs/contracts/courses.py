"""The events of the courses domain (`events.courses`).

Projected elsewhere: courses (labs, quizzes, analytics, core/course_owners), exercises (labs), enrollments
(labs, analytics), lesson completions (analytics).
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict

from subgraphs.contracts.base import EventPayload
from subgraphs.contracts.vocabulary import LabIde


class CourseSnapshot(EventPayload):
    """A course as it is after the change (`status` is the stored one; a deleted course says DELETED by its
    event type, its payload keeps the last status)."""

    course_id: uuid.UUID
    organization_id: uuid.UUID
    instructor_id: uuid.UUID
    status: str  # DRAFT | PUBLISHED | ARCHIVED
    title: str


class CourseCreated(CourseSnapshot):
    TYPE = "courses.course.created"


class CourseUpdated(CourseSnapshot):
    TYPE = "courses.course.updated"
    changed: list[str] = []  # the fields that changed (snake_case)


class CoursePublished(CourseSnapshot):
    TYPE = "courses.course.published"


class CourseUnpublished(CourseSnapshot):
    TYPE = "courses.course.unpublished"


class CourseArchived(CourseSnapshot):
    TYPE = "courses.course.archived"


class CourseDeleted(CourseSnapshot):
    TYPE = "courses.course.deleted"


class ContentChanged(EventPayload):
    """A module or lesson changed: what changed is in the envelope's subject ids, the payload is empty."""


class ModuleCreated(ContentChanged):
    TYPE = "courses.module.created"


class ModuleUpdated(ContentChanged):
    TYPE = "courses.module.updated"


class ModulePublished(ContentChanged):
    TYPE = "courses.module.published"


class ModuleUnpublished(ContentChanged):
    TYPE = "courses.module.unpublished"


class ModuleDeleted(ContentChanged):
    TYPE = "courses.module.deleted"


class ModulesReordered(ContentChanged):
    TYPE = "courses.module.reordered"


class LessonCreated(ContentChanged):
    TYPE = "courses.lesson.created"


class LessonUpdated(ContentChanged):
    TYPE = "courses.lesson.updated"


class LessonPublished(ContentChanged):
    TYPE = "courses.lesson.published"


class LessonUnpublished(ContentChanged):
    TYPE = "courses.lesson.unpublished"


class LessonDeleted(ContentChanged):
    TYPE = "courses.lesson.deleted"


class LessonsReordered(ContentChanged):
    TYPE = "courses.lesson.reordered"


class StarterFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str  # relative, inside the lab's workspace
    content: str


class ExerciseSnapshot(EventPayload):
    """What labs projects of an exercise: its course, organization, IDE and the starter files a lab's new
    workspace gets. `ide` is None only in events from before exercises announced their IDE."""

    exercise_id: uuid.UUID
    course_id: uuid.UUID
    organization_id: uuid.UUID
    ide: LabIde | None = None
    starter_files: list[StarterFile] = []


class ExerciseCreated(ExerciseSnapshot):
    TYPE = "courses.exercise.created"


class ExerciseUpdated(ExerciseSnapshot):
    TYPE = "courses.exercise.updated"


class ExerciseDeleted(ExerciseSnapshot):
    TYPE = "courses.exercise.deleted"


class EnrollmentSnapshot(EventPayload):
    enrollment_id: uuid.UUID
    user_id: uuid.UUID
    course_id: uuid.UUID
    organization_id: uuid.UUID
    status: str  # ACTIVE | COMPLETED | DROPPED


class EnrollmentCreated(EnrollmentSnapshot):
    TYPE = "courses.enrollment.created"
    reactivated: bool = False  # a dropped enrollment came back


class EnrollmentDropped(EnrollmentSnapshot):
    TYPE = "courses.enrollment.dropped"


class EnrollmentCompleted(EnrollmentSnapshot):
    TYPE = "courses.enrollment.completed"


class LessonCompleted(EventPayload):
    TYPE = "courses.lesson.completed"
    user_id: uuid.UUID
    course_id: uuid.UUID
    lesson_id: uuid.UUID
    enrollment_id: uuid.UUID
    progress_percent: int  # the enrollment's progress after this lesson


class FeedbackSubmitted(EventPayload):
    TYPE = "courses.feedback.submitted"
    rating: int  # 1-5


class ImportApplied(EventPayload):
    """`content.import.ready` was applied: the course exists under the id the import chose."""

    TYPE = "courses.import.applied"
    import_id: uuid.UUID
    course_id: uuid.UUID
    modules: int
    lessons: int
    exercises: int
