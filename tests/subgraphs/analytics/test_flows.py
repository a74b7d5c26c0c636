"""Real flows (courses and quizzes services, lab events on events.labs) through the consumer into the graph:
Course.stats, Enrollment.engagement, studentReport and courseReport move exactly as the formulas say, and a
read right after the student acts is never served from a stale cache."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from subgraphs.analytics.models import Course, Learner
from subgraphs.core.db import utcnow
from subgraphs.courses.enrollment import complete_lesson, enroll
from subgraphs.courses.models import Lesson
from subgraphs.quizzes import attempts as quiz_attempts
from subgraphs.quizzes import authoring as quiz_authoring
from subgraphs.quizzes import grading as quiz_grading
from tests.subgraphs.analytics.events import Student
from tests.subgraphs.analytics.queries import COURSE_REPORT, ENTITIES, STUDENT_REPORT, reps
from tests.subgraphs.quizzes.factories import QUESTIONS


def learner_where(course_id, user_id, **expected):
    async def check(session):
        row = await session.get(Learner, (uuid.UUID(str(course_id)), uuid.UUID(str(user_id))))
        if row is None or any(getattr(row, k) != v for k, v in expected.items()):
            return None
        return row

    return check


async def entity(gql, typename: str, id_, token: str) -> dict:
    body = await gql(ENTITIES, reps(typename, id_), token=token)
    assert "errors" not in body, body
    return body["data"]["_entities"][0]


async def test_scores_stats_and_series_follow_a_student_through_a_course(
    courses, projector, quizzes_runtime, analytics_gql, pipeline, analytics_runtime
):
    school = await courses.school()
    course = await courses.course(school, lessons=2)
    student, teacher = school.student, school.instructor
    enrollment = await enroll(courses.runtime, student.meta, course_id=course.id)

    async def course_known(session):
        return await session.get(Course, course.id)

    await pipeline.until(course_known)
    await pipeline.until(learner_where(course.id, student.id, status="ACTIVE"))

    stats = (await entity(analytics_gql, "Course", course.id, teacher.token))["stats"]
    assert {k: stats[k] for k in ("enrollments", "activeStudents", "activeToday", "completionRate")} == {
        "enrollments": 1,
        "activeStudents": 1,
        "activeToday": 1,
        "completionRate": 0.0,
    }
    assert (stats["averageProgress"], stats["averageQuizScore"], stats["labHours"], stats["atRiskCount"]) == (
        0.0,
        None,
        0.0,
        0,
    )
    engagement = (await entity(analytics_gql, "Enrollment", enrollment.id, student.token))["engagement"]
    # Just enrolled: recency 100, 1 active day of 7, nothing completed: 0.4 * 100 + 0.2 * 100/7 = 42.857
    assert (engagement["engagementScore"], engagement["proficiencyScore"], engagement["riskLevel"]) == (
        42.9,
        None,
        "LOW",
    )

    # One of two lessons: progress 50 -> completion adds 0.25 * 50; the cached numbers are not served.
    async with courses.runtime.transaction() as session:
        lessons = (await session.scalars(select(Lesson).where(Lesson.course_id == course.id))).all()
    await complete_lesson(courses.runtime, student.meta, lesson_id=lessons[0].id)
    await pipeline.until(learner_where(course.id, student.id, progress_percent=50))
    stats = (await entity(analytics_gql, "Course", course.id, teacher.token))["stats"]
    assert stats["averageProgress"] == 50.0
    engagement = (await entity(analytics_gql, "Enrollment", enrollment.id, teacher.token))["engagement"]
    assert engagement["engagementScore"] == 55.4  # 42.857 + 12.5

    # A quiz: only the first question right (2 of 10 points) -> 20 %, failed.
    await projector.sync(courses={course.id: "PUBLISHED"}, enrollments={(course.id, student.id): "ACTIVE"})
    quiz = await quiz_authoring.create_quiz(quizzes_runtime, teacher.meta, course_id=course.id, title="Q")
    questions = [
        await quiz_authoring.create_question(quizzes_runtime, teacher.meta, quiz_id=quiz.id, spec=spec)
        for spec in QUESTIONS
    ]
    await quiz_authoring.publish_quiz(quizzes_runtime, teacher.meta, id=quiz.id)
    attempt = await quiz_attempts.start_attempt(quizzes_runtime, student.meta, quiz_id=quiz.id)
    await quiz_attempts.save_answer(
        quizzes_runtime,
        student.meta,
        attempt_id=attempt.id,
        question_id=questions[0].id,
        answer=quiz_grading.Answer(choices=[1]),
    )
    await quiz_attempts.submit_attempt(quizzes_runtime, student.meta, attempt_id=attempt.id)
    await pipeline.until(learner_where(course.id, student.id, quiz_attempts=1))
    engagement = (await entity(analytics_gql, "Enrollment", enrollment.id, student.token))["engagement"]
    # proficiency (0.6 * 20 + 0.2 * 0) / 0.8 = 15 < 50: one indicator -> MEDIUM
    assert (engagement["proficiencyScore"], engagement["riskLevel"]) == (15.0, "MEDIUM")
    assert [i["name"] for i in engagement["indicators"] if i["contributes"]] == ["proficiency_score"]
    assert engagement["recommendations"][0] == "Send a short check-in message this week."

    # Lab time as the labs domain reports it: 30 minutes, ended normally.
    s = Student(
        course_id=str(course.id),
        user_id=student.id,
        organization_id=school.org,
        enrollment_id=str(enrollment.id),
    )
    session_id = str(uuid.uuid4())
    await pipeline.publish_lab_event(s.lab("started", session_id=session_id))
    await pipeline.publish_lab_event(s.lab("stopped", 1800.0, session_id=session_id))
    await pipeline.until(learner_where(course.id, student.id, lab_seconds=1800.0))
    engagement = (await entity(analytics_gql, "Enrollment", enrollment.id, student.token))["engagement"]
    # + 0.15 * 100 * 0.5 h / 2 h = 3.75 -> 59.107; proficiency now also 0.2 * 100 (lab success): 12 + 20 = 32
    assert (engagement["engagementScore"], engagement["proficiencyScore"]) == (59.1, 32.0)

    today = utcnow().date()
    body = await analytics_gql(
        COURSE_REPORT,
        {"c": str(course.id), "since": str(today - timedelta(days=2)), "until": str(today)},
        token=teacher.token,
    )
    assert "errors" not in body, body
    report = body["data"]["courseReport"]
    assert report["stats"]["averageQuizScore"] == 20.0 and report["stats"]["labHours"] == 0.5
    assert [p["day"] for p in report["series"]] == [str(today - timedelta(days=d)) for d in (2, 1, 0)]
    assert report["series"][0] == {
        "day": str(today - timedelta(days=2)),
        "activeStudents": 0,
        "submissions": 0,
        "labHours": 0.0,
        "lessonCompletions": 0,
    }
    assert report["series"][-1] == {
        "day": str(today),
        "activeStudents": 1,
        "submissions": 1,
        "labHours": 0.5,
        "lessonCompletions": 1,
    }
    [line] = report["students"]
    assert (line["user"]["id"], line["progressPercent"], line["lessonsCompleted"], line["labHours"]) == (
        student.id,
        50,
        1,
        0.5,
    )
    assert report["csvUrl"].endswith(
        f"/reports/course/{course.id}.csv?since={today - timedelta(days=2)}&until={today}"
    )

    mine = await analytics_gql(STUDENT_REPORT, {"u": student.id, "c": str(course.id)}, token=student.token)
    assert "errors" not in mine, mine
    summary = mine["data"]["studentReport"]["summary"]
    assert (summary["quizAttempts"], summary["averageQuizScore"], summary["engagement"]["riskLevel"]) == (
        1,
        20.0,
        "MEDIUM",
    )
    assert mine["data"]["studentReport"]["activeDays"] == [str(today)]
