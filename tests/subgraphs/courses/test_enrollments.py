"""Enrollment rules, progress through lessons, dropping and feedback."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import func, select

from subgraphs.courses import enrollment as courses_enrollment
from subgraphs.courses.catalog import archive_course, update_course
from subgraphs.courses.content import create_lesson
from subgraphs.courses.enrollment import complete_lesson
from subgraphs.courses.models import CourseFeedback, Enrollment, Lesson, LessonCompletion, Module, Visibility
from tests.subgraphs.courses.queries import COMPLETE, COURSE, DROP, ENROLL, FEEDBACK, result


async def enroll(courses_gql, course_id, token) -> dict:
    return result(await courses_gql(ENROLL, {"input": {"courseId": str(course_id)}}, token=token), "enroll")


async def enrollments_of(runtime, course_id) -> int:
    async with runtime.transaction() as session:
        return await session.scalar(
            select(func.count()).select_from(Enrollment).where(Enrollment.course_id == course_id)
        )


async def test_enroll_once_then_progress_to_completion(courses_gql, courses, courses_runtime):
    school = await courses.school()
    course = await courses.course(school, lessons=2)
    token = school.student.token
    enrolled = await enroll(courses_gql, course.id, token)
    assert enrolled["__typename"] == "EnrollmentSuccess", enrolled
    enrollment = enrolled["enrollment"]
    assert (enrollment["status"], enrollment["progressPercent"], enrollment["user"]["id"]) == (
        "ACTIVE",
        0,
        school.student.id,
    )
    duplicate = await enroll(courses_gql, course.id, token)
    assert duplicate["code"] == "ALREADY_ENROLLED"
    assert await enrollments_of(courses_runtime, course.id) == 1

    view = result(await courses_gql(COURSE, {"id": str(course.id)}, token=token), "course")
    lessons = [x["id"] for x in view["modules"]["nodes"][0]["lessons"]["nodes"]]
    assert view["viewerEnrollment"]["id"] == enrollment["id"]
    half = result(
        await courses_gql(COMPLETE, {"input": {"lessonId": lessons[0]}}, token=token), "completeLesson"
    )
    assert (half["enrollment"]["progressPercent"], half["enrollment"]["status"]) == (50, "ACTIVE")
    # Completing the same lesson again changes nothing and emits nothing.
    again = result(
        await courses_gql(COMPLETE, {"input": {"lessonId": lessons[0]}}, token=token), "completeLesson"
    )
    assert again["enrollment"]["progressPercent"] == 50
    done = result(
        await courses_gql(COMPLETE, {"input": {"lessonId": lessons[1]}}, token=token), "completeLesson"
    )
    assert (done["enrollment"]["progressPercent"], done["enrollment"]["status"]) == (100, "COMPLETED")
    assert done["enrollment"]["completedAt"] and sorted(done["enrollment"]["completedLessonIds"]) == sorted(
        lessons
    )
    view = result(await courses_gql(COURSE, {"id": str(course.id)}, token=token), "course")
    assert [x["completed"] for x in view["modules"]["nodes"][0]["lessons"]["nodes"]] == [True, True]

    events = await courses.events(course_id=str(course.id), user_id=school.student.id)
    assert [e["type"] for e in events] == [
        "courses.enrollment.created",
        "courses.lesson.completed",
        "courses.lesson.completed",
        "courses.enrollment.completed",
    ]
    assert events[0]["payload"] | {} == {
        "enrollment_id": enrollment["id"],
        "user_id": school.student.id,
        "course_id": str(course.id),
        "organization_id": school.org,
        "status": "ACTIVE",
        "reactivated": False,
    }
    assert events[2]["payload"]["progress_percent"] == 100 and events[2]["payload"]["lesson_id"] == lessons[1]


async def test_new_lesson_lowers_progress(courses, courses_runtime):
    school = await courses.school()
    course = await courses.course(school, lessons=1)
    row = await courses_enrollment.enroll(courses_runtime, school.student.meta, course_id=course.id)
    async with courses_runtime.transaction() as session:
        lesson_id = await session.scalar(select(Lesson.id).where(Lesson.course_id == course.id))
        module_id = await session.scalar(select(Module.id).where(Module.course_id == course.id))
    assert (
        await complete_lesson(courses_runtime, school.student.meta, lesson_id=lesson_id)
    ).progress_percent == 100
    for title in ("two", "three", "four"):
        await create_lesson(
            courses_runtime, school.instructor.meta, module_id=module_id, title=title, body=""
        )
    async with courses_runtime.transaction() as session:
        assert (await session.get(Enrollment, row.id)).progress_percent == 25


async def test_enroll_refuses_unpublished_archived_and_unknown(courses_gql, courses, courses_runtime):
    school = await courses.school()
    draft = await courses.course(school, publish=False)
    archived = await courses.course(school)
    await archive_course(courses_runtime, school.instructor.meta, id=archived.id)
    assert (await enroll(courses_gql, draft.id, school.student.token))["code"] == "NOT_ENROLLABLE"
    answer = await enroll(courses_gql, archived.id, school.student.token)
    assert answer["code"] == "NOT_ENROLLABLE" and "archived" in answer["message"]
    assert (await enroll(courses_gql, uuid.uuid4(), school.student.token))["code"] == "NOT_FOUND"
    bad = await enroll(courses_gql, "not-an-id", school.student.token)
    assert bad["fieldErrors"] == [{"field": "input.courseId", "message": "Not a valid id."}]
    # An outsider learns nothing about a draft: not found, as for an unknown id.
    outsider = await courses.minter.user()
    assert (await enroll(courses_gql, draft.id, outsider.token))["code"] == "NOT_FOUND"
    assert await enrollments_of(courses_runtime, draft.id) == 0
    assert await enrollments_of(courses_runtime, archived.id) == 0


async def test_organization_only_and_public_visibility(courses_gql, courses):
    school = await courses.school()
    private = await courses.course(school)
    public = await courses.course(school, visibility=Visibility.PUBLIC)
    outsider = await courses.minter.user()
    assert (await enroll(courses_gql, private.id, outsider.token))["code"] == "FORBIDDEN"
    assert result(await courses_gql(COURSE, {"id": str(private.id)}, token=outsider.token), "course") is None
    assert (await enroll(courses_gql, public.id, outsider.token))["__typename"] == "EnrollmentSuccess"
    assert result(await courses_gql(COURSE, {"id": str(public.id)}, token=outsider.token), "course")[
        "id"
    ] == str(public.id)


async def test_enrollment_cap_holds_under_concurrency(courses_gql, courses, courses_runtime):
    school = await courses.school()
    course = await courses.course(school, enrollment_cap=2)
    students = [await courses.minter.member(school.org, "student") for _ in range(5)]
    answers = await asyncio.gather(*(enroll(courses_gql, course.id, s.token) for s in students))
    kinds = sorted(a.get("code", a["__typename"]) for a in answers)
    assert kinds == ["ENROLLMENT_FULL"] * 3 + ["EnrollmentSuccess"] * 2
    assert await enrollments_of(courses_runtime, course.id) == 2


async def test_drop_then_reenroll_keeps_progress(courses_gql, courses, courses_runtime):
    school = await courses.school()
    course = await courses.course(school, lessons=2, enrollment_cap=1)
    enrollment = (await enroll(courses_gql, course.id, school.student.token))["enrollment"]
    async with courses_runtime.transaction() as session:
        lesson_id = await session.scalar(select(Lesson.id).where(Lesson.course_id == course.id).limit(1))
    await complete_lesson(courses_runtime, school.student.meta, lesson_id=lesson_id)
    other = await courses.minter.member(school.org, "student")
    assert (await enroll(courses_gql, course.id, other.token))["code"] == "ENROLLMENT_FULL"
    # Someone else cannot drop it; the student can, once.
    dropped_by_other = result(
        await courses_gql(DROP, {"input": {"enrollmentId": enrollment["id"]}}, token=other.token),
        "dropEnrollment",
    )
    assert dropped_by_other["code"] == "FORBIDDEN"
    dropped = result(
        await courses_gql(DROP, {"input": {"enrollmentId": enrollment["id"]}}, token=school.student.token),
        "dropEnrollment",
    )
    assert dropped["enrollment"]["status"] == "DROPPED"
    twice = result(
        await courses_gql(DROP, {"input": {"enrollmentId": enrollment["id"]}}, token=school.student.token),
        "dropEnrollment",
    )
    assert twice["code"] == "NOT_ENROLLED"
    completing = result(
        await courses_gql(COMPLETE, {"input": {"lessonId": str(lesson_id)}}, token=school.student.token),
        "completeLesson",
    )
    assert completing["code"] == "NOT_ENROLLED"
    # The freed seat goes to the other student; the first is then refused by the cap.
    assert (await enroll(courses_gql, course.id, other.token))["__typename"] == "EnrollmentSuccess"
    assert (await enroll(courses_gql, course.id, school.student.token))["code"] == "ENROLLMENT_FULL"
    await update_course(courses_runtime, school.instructor.meta, id=course.id, enrollment_cap=0)
    back = await enroll(courses_gql, course.id, school.student.token)
    assert (
        back["enrollment"]["id"],
        back["enrollment"]["status"],
        back["enrollment"]["progressPercent"],
    ) == (
        enrollment["id"],
        "ACTIVE",
        50,
    )
    async with courses_runtime.transaction() as session:
        assert (
            await session.scalar(
                select(func.count())
                .select_from(LessonCompletion)
                .where(LessonCompletion.enrollment_id == uuid.UUID(enrollment["id"]))
            )
            == 1
        )


async def test_feedback_rules(courses_gql, courses, courses_runtime):
    school = await courses.school()
    course = await courses.course(school)
    token = school.student.token
    not_enrolled = result(
        await courses_gql(FEEDBACK, {"input": {"courseId": str(course.id), "rating": 5}}, token=token),
        "submitFeedback",
    )
    assert not_enrolled["code"] == "NOT_ENROLLED"
    await enroll(courses_gql, course.id, token)
    for rating in (0, 6, -1):
        bad = result(
            await courses_gql(
                FEEDBACK, {"input": {"courseId": str(course.id), "rating": rating}}, token=token
            ),
            "submitFeedback",
        )
        assert bad["fieldErrors"][0]["field"] == "input.rating"
    first = result(
        await courses_gql(
            FEEDBACK, {"input": {"courseId": str(course.id), "rating": 4, "comment": "Good"}}, token=token
        ),
        "submitFeedback",
    )["feedback"]
    second = result(
        await courses_gql(
            FEEDBACK, {"input": {"courseId": str(course.id), "rating": 5, "comment": "Great"}}, token=token
        ),
        "submitFeedback",
    )["feedback"]
    assert first["id"] == second["id"] and (second["rating"], second["author"]["id"]) == (
        5,
        school.student.id,
    )
    view = result(await courses_gql(COURSE, {"id": str(course.id)}, token=school.instructor.token), "course")
    assert [e["node"]["comment"] for e in view["feedback"]["edges"]] == ["Great"]
    assert [e["node"]["user"]["id"] for e in view["enrollments"]["edges"]] == [school.student.id]
    student_view = result(await courses_gql(COURSE, {"id": str(course.id)}, token=token), "course")
    assert student_view["enrollments"]["edges"] == []  # the roster is for instructors and admins
    async with courses_runtime.transaction() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(CourseFeedback).where(CourseFeedback.course_id == course.id)
            )
            == 1
        )
