"""GraphQL types of the courses subgraph."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry

from subgraphs.contracts import vocabulary
from subgraphs.contracts.vocabulary import Difficulty, LabIde
from subgraphs.core.entities import from_row
from subgraphs.core.errors import EditErrors
from subgraphs.core.federation import (
    GENERATION_JOB,
    PERSON,
    TENANT,
    Stub,
    linked_row,
    owned_reference,
    stub,
)
from subgraphs.core.ids import to_id
from subgraphs.core.loaders import warm_memberships
from subgraphs.core.pages import (
    EMPTY_PAGE,
    connection_field,
    page_connection,
    stub_connection,
    stub_connection_field,
)
from subgraphs.core.pagination import Connection, list_size
from subgraphs.core.rbac import permitted
from subgraphs.courses import access, models, validation
from subgraphs.courses.catalog import CourseOrder
from subgraphs.courses.models import CourseStatus, EnrollmentStatus, Visibility

# The GraphQL enums are the models', the contracts' and the catalog's own enums, registered under these names.
strawberry.enum(CourseStatus, name="CourseStatus")
strawberry.enum(Difficulty, name="Difficulty")
strawberry.enum(
    Visibility,
    name="CourseVisibility",
    description="ORGANIZATION: members of the course's organization; PUBLIC: every signed-in user.",
)
strawberry.enum(EnrollmentStatus, name="EnrollmentStatus")
strawberry.enum(LabIde, name="LabIde", description="The IDE a lab opens for an exercise.")
strawberry.enum(CourseOrder, name="CourseOrder")


async def _can_view(info: strawberry.Info, course: models.Course) -> bool:
    await warm_memberships(info.context)
    return await access.can_view(info.context.caller, course)


async def _visible_course(info: strawberry.Info, course_id: Any) -> models.Course | None:
    course = await info.context.loaders.course_by_id.load(course_id)
    return course if course is not None and await _can_view(info, course) else None


async def _manages(info: strawberry.Info, organization_id: Any) -> bool:
    await warm_memberships(info.context)
    return await permitted(info.context.caller, access.MANAGE, organization_id)


async def _sees_course(info: strawberry.Info, course: models.Course) -> bool:
    """Whoever may see the course, and its students."""
    if await _can_view(info, course):
        return True
    return await info.context.loaders.my_enrollment_by_course_id.load(course.id) is not None


async def _sees_lesson(info: strawberry.Info, lesson: models.Lesson) -> bool:
    """Whoever sees the course sees its published lessons; drafts only its editors."""
    course = await _visible_course(info, lesson.course_id)
    return course is not None and (lesson.published or await _manages(info, course.organization_id))


async def _sees_exercise(info: strawberry.Info, exercise: models.Exercise) -> bool:
    return await _visible_course(info, exercise.course_id) is not None


async def _sees_enrollment(info: strawberry.Info, enrollment: models.Enrollment) -> bool:
    """The student themself, site admins, and instructors/admins of the course's organization."""
    if info.context.principal.user_id == enrollment.user_id:
        return True
    return await _manages(info, enrollment.organization_id)


@stub(TENANT)
class Organization(Stub):
    @stub_connection_field("Courses of this organization you may see, oldest first.")
    async def courses(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[Course]:
        return await stub_connection(
            info,
            info.context.loaders.courses_page_by_organization_id,
            self.id,
            first,
            after,
            Course.from_model,
        )


@stub(PERSON)
class User(Stub):
    @stub_connection_field("This person's enrollments, oldest first: visible to the person and site admins.")
    async def enrollments(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[Enrollment]:
        return await stub_connection(
            info,
            info.context.loaders.enrollments_page_by_user_id,
            self.id,
            first,
            after,
            Enrollment.from_model,
            only_self=True,
        )

    @stub_connection_field("Courses this person teaches that you may see.")
    async def taught_courses(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[Course]:
        return await stub_connection(
            info, info.context.loaders.courses_page_by_instructor_id, self.id, first, after, Course.from_model
        )


@stub(GENERATION_JOB)
class GenerationJob(Stub):
    @strawberry.federation.field(
        authenticated=True,
        description="The course this job's result was applied to (for a syllabus without a course: the draft "
        "course created from it); null until the worker has applied it, or when you may not see the course.",
    )
    async def applied_course(self, info: strawberry.Info) -> Course | None:
        loaders = info.context.loaders
        row = await linked_row(
            info,
            loaders.applied_course_id_by_job_id,
            loaders.course_by_id,
            self.id,
            _can_view,
        )
        return Course.from_model(row) if row else None


@strawberry.type(description="A file of an exercise's workspace.")
class WorkspaceFile:
    path: str
    content: str


@strawberry.federation.type(
    keys=["id"], description="A course: modules of ordered lessons, exercises, enrollments."
)
class Course:
    id: strawberry.ID
    title: str
    slug: str = strawberry.field(description="Unique within the organization.")
    description: str
    category: str
    difficulty: Difficulty
    estimated_duration_hours: int | None
    status: CourseStatus
    visibility: Visibility
    enrollment_cap: int | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    _row: strawberry.Private[models.Course]

    @strawberry.field
    def instructor(self) -> User:
        return User(id=to_id(self._row.instructor_id))

    @strawberry.field
    def organization(self) -> Organization:
        return Organization(id=to_id(self._row.organization_id))

    @connection_field("In order.")
    async def modules(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[Module]:
        return await page_connection(
            info.context.loaders.modules_page_by_course_id, self._row.id, first, after, Module.from_model
        )

    @connection_field("Oldest first.")
    async def exercises(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[Exercise]:
        return await page_connection(
            info.context.loaders.exercises_page_by_course_id, self._row.id, first, after, Exercise.from_model
        )

    @strawberry.field(description="Your enrollment in this course, if any.")
    async def viewer_enrollment(self, info: strawberry.Info) -> Enrollment | None:
        row = await info.context.loaders.my_enrollment_by_course_id.load(self._row.id)
        return Enrollment.from_model(row) if row else None

    @connection_field("Every enrollment, oldest first: for instructors and admins of the organization.")
    async def enrollments(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[Enrollment]:
        # The load first (batched with every other course's in this tick), then the check (a Redis read
        # in between would spread the loads over ticks and split the batch).
        page = await info.context.loaders.enrollments_page_by_course_id.load((self._row.id, first, after))
        if not await _manages(info, self._row.organization_id):
            return EMPTY_PAGE.connection(Enrollment.from_model)
        return page.connection(Enrollment.from_model)

    @connection_field("Ratings and comments of students, oldest first.")
    async def feedback(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[CourseFeedback]:
        return await page_connection(
            info.context.loaders.feedback_page_by_course_id,
            self._row.id,
            first,
            after,
            CourseFeedback.from_model,
        )

    @classmethod
    def from_model(cls, row: models.Course) -> Course:
        return from_row(
            cls,
            row,
            difficulty=vocabulary.Difficulty(row.difficulty),
            status=models.CourseStatus(row.status),
            visibility=models.Visibility(row.visibility),
        )

    resolve_reference = owned_reference("course_by_id", _sees_course)


@strawberry.type(description="A part of a course: ordered lessons.")
class Module:
    id: strawberry.ID
    title: str
    position: int
    published: bool = strawberry.field(
        description="False: a draft (e.g. applied generated content) only the course's editors see; "
        "publishModule shows it, with its lessons, to students."
    )
    _row: strawberry.Private[models.Module]

    @connection_field("In order (drafts only for the course's editors).")
    async def lessons(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[Lesson]:
        return await page_connection(
            info.context.loaders.lessons_page_by_module_id, self._row.id, first, after, Lesson.from_model
        )

    @classmethod
    def from_model(cls, row: models.Module) -> Module:
        return from_row(cls, row)


@strawberry.federation.type(
    keys=["id"], description="A lesson of a module (the content subgraph adds its attachments)."
)
class Lesson:
    id: strawberry.ID
    title: str
    body: str = strawberry.field(description="Markdown, exactly as written.")
    position: int
    published: bool = strawberry.field(
        description="False: a draft only the course's editors see (publishLesson shows it to students)."
    )
    _row: strawberry.Private[models.Lesson]

    @strawberry.field
    def module_id(self) -> strawberry.ID:
        return to_id(self._row.module_id)

    @strawberry.field(description="Whether you completed this lesson.")
    async def completed(self, info: strawberry.Info) -> bool:
        done = await info.context.loaders.my_completed_lesson_ids_by_course_id.load(self._row.course_id)
        return self._row.id in done

    @classmethod
    def from_model(cls, row: models.Lesson) -> Lesson:
        return from_row(cls, row)

    resolve_reference = owned_reference("lesson_by_id", _sees_lesson)


@strawberry.federation.type(keys=["id"], description="A hands-on exercise of a course, done in a lab.")
class Exercise:
    id: strawberry.ID
    title: str
    instructions: str = strawberry.field(description="Markdown.")
    language: str
    starter_files: list[WorkspaceFile] = strawberry.field(directives=[list_size(validation.MAX_FILES)])
    lab_ide: LabIde
    created_at: datetime
    updated_at: datetime
    _row: strawberry.Private[models.Exercise]

    @strawberry.field(
        directives=[list_size(validation.MAX_FILES)],
        description="The checks run on a submission: instructors and admins only (null otherwise).",
    )
    async def tests(self, info: strawberry.Info) -> list[WorkspaceFile] | None:
        course = await info.context.loaders.course_by_id.load(self._row.course_id)
        if course is None or not await _manages(info, course.organization_id):
            return None
        return [WorkspaceFile(**f) for f in self._row.tests]

    @strawberry.field
    async def course(self, info: strawberry.Info) -> Course:
        return Course.from_model(await info.context.loaders.course_by_id.load(self._row.course_id))

    @classmethod
    def from_model(cls, row: models.Exercise) -> Exercise:
        return from_row(
            cls,
            row,
            starter_files=[WorkspaceFile(**f) for f in row.starter_files],
            lab_ide=vocabulary.LabIde(row.ide),
        )

    resolve_reference = owned_reference("exercise_by_id", _sees_exercise)


@strawberry.federation.type(keys=["id"], description="A student's enrollment in a course, with progress.")
class Enrollment:
    id: strawberry.ID
    status: EnrollmentStatus
    progress_percent: int
    enrolled_at: datetime
    completed_at: datetime | None
    last_activity_at: datetime
    _row: strawberry.Private[models.Enrollment]

    @strawberry.field
    def user(self) -> User:
        return User(id=to_id(self._row.user_id))

    @strawberry.field
    async def course(self, info: strawberry.Info) -> Course:
        return Course.from_model(await info.context.loaders.course_by_id.load(self._row.course_id))

    @strawberry.field(description="Lessons completed in this enrollment.")
    async def completed_lesson_ids(self, info: strawberry.Info) -> list[strawberry.ID]:
        done = await info.context.loaders.my_completed_lesson_ids_by_enrollment_id.load(self._row.id)
        return [to_id(x) for x in sorted(done, key=str)]

    @classmethod
    def from_model(cls, row: models.Enrollment) -> Enrollment:
        return from_row(cls, row, status=models.EnrollmentStatus(row.status))

    resolve_reference = owned_reference("enrollment_by_id", _sees_enrollment)


@strawberry.type(description="A student's rating (1-5) and comment.")
class CourseFeedback:
    id: strawberry.ID
    rating: int
    comment: str
    created_at: datetime
    updated_at: datetime
    _row: strawberry.Private[models.CourseFeedback]

    @strawberry.field
    def author(self) -> User:
        return User(id=to_id(self._row.user_id))

    @classmethod
    def from_model(cls, row: models.CourseFeedback) -> CourseFeedback:
        return from_row(cls, row)


CourseConnection = Connection[Course]

# --- inputs ---------------------------------------------------------------------------------------


@strawberry.input
class CreateCourseInput:
    organization_id: strawberry.ID
    title: str
    slug: str = strawberry.field(
        description="3-64 lower-case letters, digits and dashes; unique per organization."
    )
    description: str | None = None
    category: str | None = None
    difficulty: Difficulty = vocabulary.Difficulty.BEGINNER
    estimated_duration_hours: int | None = None
    visibility: Visibility = models.Visibility.ORGANIZATION
    enrollment_cap: int | None = None


@strawberry.input(description="Only the fields given change; `enrollmentCap: 0` removes the cap.")
class UpdateCourseInput:
    id: strawberry.ID
    title: str | None = None
    slug: str | None = None
    description: str | None = None
    category: str | None = None
    difficulty: Difficulty | None = None
    estimated_duration_hours: int | None = None
    visibility: Visibility | None = None
    enrollment_cap: int | None = None


@strawberry.input
class CourseIdInput:
    id: strawberry.ID


@strawberry.input
class CourseFilter:
    organization_id: strawberry.ID | None = None
    status: CourseStatus | None = None
    category: str | None = None
    difficulty: Difficulty | None = None
    search: str | None = strawberry.field(
        default=None, description="Full-text search in title and description."
    )
    instructor_id: strawberry.ID | None = None


@strawberry.input
class CreateModuleInput:
    course_id: strawberry.ID
    title: str


@strawberry.input
class UpdateModuleInput:
    id: strawberry.ID
    title: str


@strawberry.input
class DeleteInput:
    id: strawberry.ID


@strawberry.input(description="The module or lesson to publish (or take back to draft).")
class PublishContentInput:
    id: strawberry.ID


@strawberry.input
class ReorderModulesInput:
    course_id: strawberry.ID
    module_ids: list[strawberry.ID] = strawberry.field(description="The course's modules, in the new order.")


@strawberry.input
class CreateLessonInput:
    module_id: strawberry.ID
    title: str
    body: str | None = strawberry.field(default=None, description="Markdown.")


@strawberry.input
class UpdateLessonInput:
    id: strawberry.ID
    title: str | None = None
    body: str | None = None


@strawberry.input
class ReorderLessonsInput:
    module_id: strawberry.ID
    lesson_ids: list[strawberry.ID] = strawberry.field(description="The module's lessons, in the new order.")


@strawberry.input
class WorkspaceFileInput:
    path: str
    content: str = ""


@strawberry.input
class CreateExerciseInput:
    course_id: strawberry.ID
    title: str
    instructions: str | None = None
    language: str = "python"
    starter_files: list[WorkspaceFileInput] | None = None
    tests: list[WorkspaceFileInput] | None = None
    lab_ide: LabIde = vocabulary.LabIde.VSCODE


@strawberry.input
class UpdateExerciseInput:
    id: strawberry.ID
    title: str | None = None
    instructions: str | None = None
    language: str | None = None
    starter_files: list[WorkspaceFileInput] | None = None
    tests: list[WorkspaceFileInput] | None = None
    lab_ide: LabIde | None = None


@strawberry.input
class EnrollInput:
    course_id: strawberry.ID


@strawberry.input
class DropEnrollmentInput:
    enrollment_id: strawberry.ID


@strawberry.input
class CompleteLessonInput:
    lesson_id: strawberry.ID


@strawberry.input
class SubmitFeedbackInput:
    course_id: strawberry.ID
    rating: int = strawberry.field(description="1 to 5.")
    comment: str | None = None


# --- results --------------------------------------------------------------------------------------


@strawberry.type
class CourseSuccess:
    course: Course


@strawberry.type
class ModuleSuccess:
    module: Module


@strawberry.type
class LessonSuccess:
    lesson: Lesson


@strawberry.type
class ExerciseSuccess:
    exercise: Exercise


@strawberry.type
class EnrollmentSuccess:
    enrollment: Enrollment


@strawberry.type
class FeedbackSuccess:
    feedback: CourseFeedback


@strawberry.type
class DeleteSuccess:
    id: strawberry.ID


CreateCourseResult = Annotated[CourseSuccess | EditErrors, strawberry.union("CreateCourseResult")]
UpdateCourseResult = Annotated[CourseSuccess | EditErrors, strawberry.union("UpdateCourseResult")]
PublishCourseResult = Annotated[CourseSuccess | EditErrors, strawberry.union("PublishCourseResult")]
UnpublishCourseResult = Annotated[CourseSuccess | EditErrors, strawberry.union("UnpublishCourseResult")]
ArchiveCourseResult = Annotated[CourseSuccess | EditErrors, strawberry.union("ArchiveCourseResult")]
DeleteCourseResult = Annotated[DeleteSuccess | EditErrors, strawberry.union("DeleteCourseResult")]
CreateModuleResult = Annotated[ModuleSuccess | EditErrors, strawberry.union("CreateModuleResult")]
UpdateModuleResult = Annotated[ModuleSuccess | EditErrors, strawberry.union("UpdateModuleResult")]
DeleteModuleResult = Annotated[DeleteSuccess | EditErrors, strawberry.union("DeleteModuleResult")]
PublishModuleResult = Annotated[ModuleSuccess | EditErrors, strawberry.union("PublishModuleResult")]
UnpublishModuleResult = Annotated[ModuleSuccess | EditErrors, strawberry.union("UnpublishModuleResult")]
ReorderModulesResult = Annotated[CourseSuccess | EditErrors, strawberry.union("ReorderModulesResult")]
CreateLessonResult = Annotated[LessonSuccess | EditErrors, strawberry.union("CreateLessonResult")]
UpdateLessonResult = Annotated[LessonSuccess | EditErrors, strawberry.union("UpdateLessonResult")]
DeleteLessonResult = Annotated[DeleteSuccess | EditErrors, strawberry.union("DeleteLessonResult")]
PublishLessonResult = Annotated[LessonSuccess | EditErrors, strawberry.union("PublishLessonResult")]
UnpublishLessonResult = Annotated[LessonSuccess | EditErrors, strawberry.union("UnpublishLessonResult")]
ReorderLessonsResult = Annotated[ModuleSuccess | EditErrors, strawberry.union("ReorderLessonsResult")]
CreateExerciseResult = Annotated[ExerciseSuccess | EditErrors, strawberry.union("CreateExerciseResult")]
UpdateExerciseResult = Annotated[ExerciseSuccess | EditErrors, strawberry.union("UpdateExerciseResult")]
DeleteExerciseResult = Annotated[DeleteSuccess | EditErrors, strawberry.union("DeleteExerciseResult")]
EnrollResult = Annotated[EnrollmentSuccess | EditErrors, strawberry.union("EnrollResult")]
DropEnrollmentResult = Annotated[EnrollmentSuccess | EditErrors, strawberry.union("DropEnrollmentResult")]
CompleteLessonResult = Annotated[EnrollmentSuccess | EditErrors, strawberry.union("CompleteLessonResult")]
SubmitFeedbackResult = Annotated[FeedbackSuccess | EditErrors, strawberry.union("SubmitFeedbackResult")]
