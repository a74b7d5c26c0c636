"""`Course.quizzes`, `Quiz.questions`, `Quiz.myAttempts` and `QuizAttempt.answers` are Relay connections:
pages in order without repeats or gaps (a shuffled quiz included: each student's own stable order), one
windowed statement for all parents (the same statements for 5 and for 50 children); and `saveAnswer` emits
`quizzes.answer.saved` only when the answer changed."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from subgraphs.courses.enrollment import enroll
from subgraphs.quizzes import attempts as quiz_attempts
from subgraphs.quizzes import authoring, grading
from subgraphs.quizzes.models import Outbox, Question
from tests.subgraphs.quizzes.factories import QUESTIONS, classroom
from tests.subgraphs.quizzes.queries import reps

QUESTIONS_PAGE = """query($r: [_Any!]!, $first: Int, $after: String) { _entities(representations: $r) {
  ... on Quiz { questions(first: $first, after: $after) { nodes { id prompt }
    pageInfo { hasNextPage endCursor } } } } }"""


async def _all_questions(gql, quiz_id, token, first: int) -> list[str]:
    ids, after = [], None
    while True:
        body = await gql(QUESTIONS_PAGE, {**_r(quiz_id), "first": first, "after": after}, token=token)
        assert "errors" not in body, body
        page = body["data"]["_entities"][0]["questions"]
        ids += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            return ids
        after = page["pageInfo"]["endCursor"]


def _r(*ids) -> dict:
    return {"r": reps("Quiz", *ids)["representations"]}


async def test_shuffled_questions_page_in_each_students_stable_order(
    quizzes_gql, courses, projector, quizzes_runtime
):
    room = await classroom(courses, projector, quizzes_runtime, shuffle_questions=True)
    authored = [str(q) for q in room.question_ids]
    assert await _all_questions(quizzes_gql, room.quiz_id, room.school.instructor.token, 2) == authored
    student = room.school.student
    seen = await _all_questions(quizzes_gql, room.quiz_id, student.token, 2)
    seed = f"{student.meta.principal.subject}:{room.quiz_id}"
    expected = sorted(authored, key=lambda q: hashlib.sha256(f"{seed}:{q}".encode()).digest())
    assert seen == expected  # every question once, in the student's own order, across pages
    assert await _all_questions(quizzes_gql, room.quiz_id, student.token, 100) == expected


async def test_my_attempts_and_answers_page(quizzes_gql, courses, projector, quizzes_runtime):
    room = await classroom(courses, projector, quizzes_runtime)
    student = room.school.student
    attempts = []
    for _ in range(3):
        attempt = await quiz_attempts.start_attempt(quizzes_runtime, student.meta, quiz_id=room.quiz_id)
        for question_id in reversed(room.question_ids):  # saved last to first: listed in quiz order
            await quiz_attempts.save_answer(
                quizzes_runtime,
                student.meta,
                attempt_id=attempt.id,
                question_id=question_id,
                answer=grading.Answer(boolean=True)
                if question_id == room.question_ids[2]
                else _answer(question_id, room),
            )
        await quiz_attempts.submit_attempt(quizzes_runtime, student.meta, attempt_id=attempt.id)
        attempts.append(str(attempt.id))
    query = """query($r: [_Any!]!, $after: String, $answersAfter: String) { _entities(representations: $r) {
      ... on Quiz { myAttempts(first: 2, after: $after) { nodes { id answers(first: 2, after: $answersAfter) {
        nodes { questionId } pageInfo { hasNextPage endCursor } } }
        pageInfo { hasNextPage endCursor } } } } }"""
    seen, after = [], None
    while True:
        body = await quizzes_gql(query, {**_r(room.quiz_id), "after": after}, token=student.token)
        page = body["data"]["_entities"][0]["myAttempts"]
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == attempts
    answered, answers_after = [], None
    for _ in range(3):
        body = await quizzes_gql(
            query, {**_r(room.quiz_id), "answersAfter": answers_after}, token=student.token
        )
        page = body["data"]["_entities"][0]["myAttempts"]["nodes"][0]["answers"]
        answered += [n["questionId"] for n in page["nodes"]]
        answers_after = page["pageInfo"]["endCursor"]
    assert answered == [str(q) for q in room.question_ids] and not page["pageInfo"]["hasNextPage"]


def _answer(question_id, room) -> grading.Answer:
    index = room.question_ids.index(question_id)
    return [
        grading.Answer(choices=[1]),
        grading.Answer(choices=[0, 2]),
        grading.Answer(boolean=False),
        grading.Answer(text="Paris"),
        grading.Answer(number=3.14),
    ][index]


async def test_quiz_connections_statements_do_not_grow_with_children(
    quizzes_gql, courses, projector, quizzes_runtime, quizzes_count_queries
):
    """Two courses, each with n quizzes of n questions; the student made n attempts of the first quiz, each
    answering its first question: 5 and 50 children read with the same statements."""
    query = """query($r: [_Any!]!) { _entities(representations: $r) { ... on Course {
      quizzes(first: 100) { nodes { title questions(first: 100) { nodes { id } }
        myAttempts(first: 100) { nodes { score answers(first: 100) { nodes { questionId } } } } } } } } }"""
    counts, seen = {}, {}
    for n in (5, 50):
        school = await courses.school()
        made = []
        for _ in range(2):
            course = await courses.course(school)
            made.append(course.id)
        for course_id in made:
            await enroll(courses.runtime, school.student.meta, course_id=course_id)
        await projector.sync(
            courses={c: "PUBLISHED" for c in made},
            enrollments={(c, school.student.id): "ACTIVE" for c in made},
        )
        for course_id in made:
            for q in range(n):
                quiz = await authoring.create_quiz(
                    quizzes_runtime,
                    school.instructor.meta,
                    course_id=course_id,
                    title=f"Q{q}",
                    attempts_allowed=None,
                )
                await _questions(quizzes_runtime, school, quiz.id, n if q == 0 else 1)
                await authoring.publish_quiz(quizzes_runtime, school.instructor.meta, id=quiz.id)
                if q == 0:
                    await _attempts(quizzes_runtime, school, quiz.id, n)

        async def call(made=made, school=school, n=n) -> None:
            body = await quizzes_gql(
                query, {"r": reps("Course", *made)["representations"]}, token=school.student.token
            )
            assert "errors" not in body, body
            seen[n] = body["data"]["_entities"]

        with quizzes_count_queries() as counter:
            await call()
        counts[n] = counter.count
    for n in (5, 50):
        for course in seen[n]:
            quizzes = course["quizzes"]["nodes"]
            assert len(quizzes) == n and len(quizzes[0]["questions"]["nodes"]) == n
            assert len(quizzes[0]["myAttempts"]["nodes"]) == n
            assert all(len(a["answers"]["nodes"]) == 1 for a in quizzes[0]["myAttempts"]["nodes"])
    assert counts[5] >= 1 and counts[5] == counts[50], counts


async def _questions(runtime, school, quiz_id, n: int) -> None:
    for _ in range(n):
        await authoring.create_question(runtime, school.instructor.meta, quiz_id=quiz_id, spec=QUESTIONS[2])


async def _attempts(runtime, school, quiz_id, n: int) -> None:
    async with runtime.transaction() as session:
        first = await session.scalar(
            select(Question.id).where(Question.quiz_id == quiz_id).order_by(Question.position).limit(1)
        )
    for _ in range(n):
        attempt = await quiz_attempts.start_attempt(runtime, school.student.meta, quiz_id=quiz_id)
        await quiz_attempts.save_answer(
            runtime,
            school.student.meta,
            attempt_id=attempt.id,
            question_id=first,
            answer=grading.Answer(boolean=False),
        )
        await quiz_attempts.submit_attempt(runtime, school.student.meta, attempt_id=attempt.id)


async def test_answer_saved_event_only_when_the_answer_changed(courses, projector, quizzes_runtime):
    room = await classroom(courses, projector, quizzes_runtime)
    student = room.school.student
    attempt = await quiz_attempts.start_attempt(quizzes_runtime, student.meta, quiz_id=room.quiz_id)
    question = room.question_ids[2]

    async def save(value: bool, seconds: int) -> None:
        await quiz_attempts.save_answer(
            quizzes_runtime,
            student.meta,
            attempt_id=attempt.id,
            question_id=question,
            answer=grading.Answer(boolean=value),
            time_spent_seconds=seconds,
        )

    await save(True, 4)
    await save(True, 6)  # the same answer again: nothing new happened
    await save(False, 9)
    async with quizzes_runtime.transaction() as session:
        events = (await session.scalars(select(Outbox.event).order_by(Outbox.position))).all()
    saved = [
        e
        for e in events
        if e["type"] == "quizzes.answer.saved" and e["payload"]["attempt_id"] == str(attempt.id)
    ]
    assert [e["payload"]["time_spent_ms"] for e in saved] == [4000, 9000]
    assert saved[0]["payload"] == {
        "attempt_id": str(attempt.id),
        "quiz_id": str(room.quiz_id),
        "question_id": str(question),
        "user_id": student.id,
        "course_id": str(room.course_id),
        "organization_id": room.school.org,
        "time_spent_ms": 4000,
    }
    assert saved[0]["organization_id"] == room.school.org
