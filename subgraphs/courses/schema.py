"""Query and Mutation of the courses subgraph. Resolvers stay thin: parse ids, call the service functions
(catalog, content, exercises, enrollment).

Router-side checks: `@authenticated` plus `@policy` (core.rbac.member_or_scope_policy): users of any
platform role pass (the subgraph decides by membership), API clients need the scope. The subgraph always
re-checks with core.rbac.authorize.
"""

from __future__ import annotations

import strawberry

from subgraphs.contracts import vocabulary
from subgraphs.core.ids import parse_id, parse_optional_id
from subgraphs.core.pagination import PageRequest
from subgraphs.core.rbac import USER_POLICY, member_or_scope_policy
from subgraphs.core.resolvers import (
    authenticated_field,
    authenticated_mutation,
    call_service,
    call_with_input_id,
    paged_field,
)
from subgraphs.core.schema import build_schema
from subgraphs.courses import access, catalog, content, enrollment, exercises, models
from subgraphs.courses.errors import COURSES_ERRORS
from subgraphs.courses.types import (
    ArchiveCourseResult,
    CompleteLessonInput,
    CompleteLessonResult,
    Course,
    CourseConnection,
    CourseFeedback,
    CourseFilter,
    CourseIdInput,
    CourseOrder,
    CourseSuccess,
    CreateCourseInput,
    CreateCourseResult,
    CreateExerciseInput,
    CreateExerciseResult,
    CreateLessonInput,
    CreateLessonResult,
    CreateModuleInput,
    CreateModuleResult,
    DeleteCourseResult,
    DeleteExerciseResult,
    DeleteInput,
    DeleteLessonResult,
    DeleteModuleResult,
    DeleteSuccess,
    DropEnrollmentInput,
    DropEnrollmentResult,
    EnrollInput,
    Enrollment,
    EnrollmentSuccess,
    EnrollResult,
    Exercise,
    ExerciseSuccess,
    FeedbackSuccess,
    GenerationJob,
    Lesson,
    LessonSuccess,
    Module,
    ModuleSuccess,
    Organization,
    PublishContentInput,
    PublishCourseResult,
    PublishLessonResult,
    PublishModuleResult,
    ReorderLessonsInput,
    ReorderLessonsResult,
    ReorderModulesInput,
    ReorderModulesResult,
    SubmitFeedbackInput,
    SubmitFeedbackResult,
    UnpublishCourseResult,
    UnpublishLessonResult,
    UnpublishModuleResult,
    UpdateCourseInput,
    UpdateCourseResult,
    UpdateExerciseInput,
    UpdateExerciseResult,
    UpdateLessonInput,
    UpdateLessonResult,
    UpdateModuleInput,
    UpdateModuleResult,
    User,
)


def _enum(value: object) -> object:
    return getattr(value, "value", value)


def _files(value: list | None) -> list[dict[str, str]] | None:
    return None if value is None else [{"path": f.path, "content": f.content} for f in value]


VIEW = member_or_scope_policy(access.VIEW)
CREATE = member_or_scope_policy(access.CREATE)
MANAGE = member_or_scope_policy(access.MANAGE)
PUBLISH = member_or_scope_policy(access.PUBLISH)


@strawberry.type
class Query:
    @authenticated_field(
        policy=VIEW,
        description="One course by id, or by slug within an organization; null when absent or not visible.",
    )
    async def course(
        self,
        info: strawberry.Info,
        id: strawberry.ID | None = None,
        slug: str | None = None,
        organization_id: strawberry.ID | None = None,
    ) -> Course | None:
        row = await call_service(
            info,
            catalog.get_course,
            id=parse_optional_id(id, "id"),
            slug=slug,
            organization_id=parse_optional_id(organization_id, "organizationId"),
        )
        return Course.from_model(row) if row else None

    @paged_field(
        policy=VIEW,
        description="Courses you may see, filtered; `search` is full-text over title and description.",
    )
    async def courses(
        self,
        info: strawberry.Info,
        filter: CourseFilter | None = None,
        order_by: CourseOrder = catalog.CourseOrder.CREATED_AT,
        first: int = 20,
        after: str | None = None,
    ) -> CourseConnection:
        f = filter or CourseFilter()
        return await call_service(
            info,
            catalog.list_courses,
            filter=catalog.CourseFilter(
                organization_id=parse_optional_id(f.organization_id, "filter.organizationId"),
                status=models.CourseStatus(_enum(f.status)) if f.status else None,
                category=f.category,
                difficulty=vocabulary.Difficulty(_enum(f.difficulty)) if f.difficulty else None,
                search=f.search,
                instructor_id=parse_optional_id(f.instructor_id, "filter.instructorId"),
            ),
            order_by=catalog.CourseOrder(_enum(order_by)),
            page=PageRequest(first, after, Course.from_model),
        )


def _course_fields(input: CreateCourseInput | UpdateCourseInput) -> dict:
    return {
        "title": input.title,
        "slug": input.slug,
        "description": input.description,
        "category": input.category,
        "difficulty": _enum(input.difficulty),
        "estimated_duration_hours": input.estimated_duration_hours,
        "visibility": _enum(input.visibility),
        "enrollment_cap": input.enrollment_cap,
    }


def _exercise_fields(input: CreateExerciseInput | UpdateExerciseInput) -> dict:
    return {
        "title": input.title,
        "instructions": input.instructions,
        "language": input.language,
        "starter_files": _files(input.starter_files),
        "tests": _files(input.tests),
        "ide": _enum(input.lab_ide),
    }


@strawberry.type
class Mutation:
    @authenticated_mutation(policy=USER_POLICY, description="A draft course; you are its instructor.")
    async def create_course(self, info: strawberry.Info, input: CreateCourseInput) -> CreateCourseResult:
        fields = _course_fields(input)
        fields["difficulty"] = vocabulary.Difficulty(fields["difficulty"])
        fields["visibility"] = models.Visibility(fields["visibility"])
        organization_id = parse_id(input.organization_id, "input.organizationId")
        row = await call_service(info, catalog.create_course, organization_id=organization_id, **fields)
        return CourseSuccess(course=Course.from_model(row))

    @authenticated_mutation(policy=MANAGE, description="Only the fields given change.")
    async def update_course(self, info: strawberry.Info, input: UpdateCourseInput) -> UpdateCourseResult:
        row = await call_with_input_id(info, catalog.update_course, input, **_course_fields(input))
        return CourseSuccess(course=Course.from_model(row))

    @authenticated_mutation(policy=PUBLISH, description="Draft -> published (needs a module with a lesson).")
    async def publish_course(self, info: strawberry.Info, input: CourseIdInput) -> PublishCourseResult:
        row = await call_with_input_id(info, catalog.publish_course, input)
        return CourseSuccess(course=Course.from_model(row))

    @authenticated_mutation(policy=PUBLISH, description="Published -> draft.")
    async def unpublish_course(self, info: strawberry.Info, input: CourseIdInput) -> UnpublishCourseResult:
        row = await call_with_input_id(info, catalog.unpublish_course, input)
        return CourseSuccess(course=Course.from_model(row))

    @authenticated_mutation(policy=MANAGE, description="Read-only from now on.")
    async def archive_course(self, info: strawberry.Info, input: CourseIdInput) -> ArchiveCourseResult:
        row = await call_with_input_id(info, catalog.archive_course, input)
        return CourseSuccess(course=Course.from_model(row))

    @authenticated_mutation(policy=MANAGE, description="Only without enrollments.")
    async def delete_course(self, info: strawberry.Info, input: CourseIdInput) -> DeleteCourseResult:
        row = await call_with_input_id(info, catalog.delete_course, input)
        return DeleteSuccess(id=strawberry.ID(str(row.id)))

    @authenticated_mutation(policy=MANAGE)
    async def create_module(self, info: strawberry.Info, input: CreateModuleInput) -> CreateModuleResult:
        course_id = parse_id(input.course_id, "input.courseId")
        row = await call_service(info, content.create_module, course_id=course_id, title=input.title)
        return ModuleSuccess(module=Module.from_model(row))

    @authenticated_mutation(policy=MANAGE)
    async def update_module(self, info: strawberry.Info, input: UpdateModuleInput) -> UpdateModuleResult:
        row = await call_with_input_id(info, content.update_module, input, title=input.title)
        return ModuleSuccess(module=Module.from_model(row))

    @authenticated_mutation(policy=MANAGE, description="Students see the module and its lessons from now on.")
    async def publish_module(self, info: strawberry.Info, input: PublishContentInput) -> PublishModuleResult:
        row = await call_with_input_id(info, content.publish_module, input, published=True)
        return ModuleSuccess(module=Module.from_model(row))

    @authenticated_mutation(policy=MANAGE, description="Back to a draft students do not see.")
    async def unpublish_module(
        self, info: strawberry.Info, input: PublishContentInput
    ) -> UnpublishModuleResult:
        row = await call_with_input_id(info, content.publish_module, input, published=False)
        return ModuleSuccess(module=Module.from_model(row))

    @authenticated_mutation(policy=MANAGE, description="Deletes its lessons too.")
    async def delete_module(self, info: strawberry.Info, input: DeleteInput) -> DeleteModuleResult:
        row = await call_with_input_id(info, content.delete_module, input)
        return DeleteSuccess(id=strawberry.ID(str(row.id)))

    @authenticated_mutation(policy=MANAGE)
    async def reorder_modules(
        self, info: strawberry.Info, input: ReorderModulesInput
    ) -> ReorderModulesResult:
        course_id = parse_id(input.course_id, "input.courseId")
        row = await call_service(
            info, content.reorder_modules, course_id=course_id, module_ids=list(input.module_ids)
        )
        return CourseSuccess(course=Course.from_model(row))

    @authenticated_mutation(policy=MANAGE)
    async def create_lesson(self, info: strawberry.Info, input: CreateLessonInput) -> CreateLessonResult:
        module_id = parse_id(input.module_id, "input.moduleId")
        row = await call_service(
            info, content.create_lesson, module_id=module_id, title=input.title, body=input.body
        )
        return LessonSuccess(lesson=Lesson.from_model(row))

    @authenticated_mutation(policy=MANAGE)
    async def update_lesson(self, info: strawberry.Info, input: UpdateLessonInput) -> UpdateLessonResult:
        row = await call_with_input_id(info, content.update_lesson, input, title=input.title, body=input.body)
        return LessonSuccess(lesson=Lesson.from_model(row))

    @authenticated_mutation(
        policy=MANAGE, description="Students see the lesson from now on (once its module is published too)."
    )
    async def publish_lesson(self, info: strawberry.Info, input: PublishContentInput) -> PublishLessonResult:
        row = await call_with_input_id(info, content.publish_lesson, input, published=True)
        return LessonSuccess(lesson=Lesson.from_model(row))

    @authenticated_mutation(policy=MANAGE, description="Back to a draft students do not see.")
    async def unpublish_lesson(
        self, info: strawberry.Info, input: PublishContentInput
    ) -> UnpublishLessonResult:
        row = await call_with_input_id(info, content.publish_lesson, input, published=False)
        return LessonSuccess(lesson=Lesson.from_model(row))

    @authenticated_mutation(policy=MANAGE)
    async def delete_lesson(self, info: strawberry.Info, input: DeleteInput) -> DeleteLessonResult:
        row = await call_with_input_id(info, content.delete_lesson, input)
        return DeleteSuccess(id=strawberry.ID(str(row.id)))

    @authenticated_mutation(policy=MANAGE)
    async def reorder_lessons(
        self, info: strawberry.Info, input: ReorderLessonsInput
    ) -> ReorderLessonsResult:
        module_id = parse_id(input.module_id, "input.moduleId")
        row = await call_service(
            info, content.reorder_lessons, module_id=module_id, lesson_ids=list(input.lesson_ids)
        )
        return ModuleSuccess(module=Module.from_model(row))

    @authenticated_mutation(policy=MANAGE)
    async def create_exercise(
        self, info: strawberry.Info, input: CreateExerciseInput
    ) -> CreateExerciseResult:
        course_id = parse_id(input.course_id, "input.courseId")
        row = await call_service(
            info, exercises.create_exercise, course_id=course_id, **_exercise_fields(input)
        )
        return ExerciseSuccess(exercise=Exercise.from_model(row))

    @authenticated_mutation(policy=MANAGE)
    async def update_exercise(
        self, info: strawberry.Info, input: UpdateExerciseInput
    ) -> UpdateExerciseResult:
        row = await call_with_input_id(info, exercises.update_exercise, input, **_exercise_fields(input))
        return ExerciseSuccess(exercise=Exercise.from_model(row))

    @authenticated_mutation(policy=MANAGE)
    async def delete_exercise(self, info: strawberry.Info, input: DeleteInput) -> DeleteExerciseResult:
        row = await call_with_input_id(info, exercises.delete_exercise, input)
        return DeleteSuccess(id=strawberry.ID(str(row.id)))

    @authenticated_mutation(policy=USER_POLICY, description="Enroll in a published course you can see, once.")
    async def enroll(self, info: strawberry.Info, input: EnrollInput) -> EnrollResult:
        row = await call_service(
            info, enrollment.enroll, course_id=parse_id(input.course_id, "input.courseId")
        )
        return EnrollmentSuccess(enrollment=Enrollment.from_model(row))

    @authenticated_mutation(policy=VIEW)
    async def drop_enrollment(
        self, info: strawberry.Info, input: DropEnrollmentInput
    ) -> DropEnrollmentResult:
        enrollment_id = parse_id(input.enrollment_id, "input.enrollmentId")
        row = await call_service(info, enrollment.drop_enrollment, enrollment_id=enrollment_id)
        return EnrollmentSuccess(enrollment=Enrollment.from_model(row))

    @authenticated_mutation(
        policy=USER_POLICY, description="Mark a lesson done; returns the updated progress."
    )
    async def complete_lesson(
        self, info: strawberry.Info, input: CompleteLessonInput
    ) -> CompleteLessonResult:
        lesson_id = parse_id(input.lesson_id, "input.lessonId")
        row = await call_service(info, enrollment.complete_lesson, lesson_id=lesson_id)
        return EnrollmentSuccess(enrollment=Enrollment.from_model(row))

    @authenticated_mutation(policy=USER_POLICY, description="Rate a course you are enrolled in (1-5).")
    async def submit_feedback(
        self, info: strawberry.Info, input: SubmitFeedbackInput
    ) -> SubmitFeedbackResult:
        course_id = parse_id(input.course_id, "input.courseId")
        row = await call_service(
            info, enrollment.submit_feedback, course_id=course_id, rating=input.rating, comment=input.comment
        )
        return FeedbackSuccess(feedback=CourseFeedback.from_model(row))


schema = build_schema(
    query=Query,
    mutation=Mutation,
    types=[Course, Enrollment, Exercise, User, Organization, GenerationJob],
    errors=COURSES_ERRORS,
)
