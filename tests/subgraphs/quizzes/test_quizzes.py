"""Quizzes: authoring with typed errors, attempts, idempotent answers, server-side scoring, time limits,
attempt limits, hidden answers, the instructor view, and events."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select, update

from subgraphs.courses.catalog import archive_course
from subgraphs.courses.enrollment import drop_enrollment
from subgraphs.quizzes.models import AttemptAnswer, Outbox, Question, Quiz, QuizAttempt
from tests.subgraphs.quizzes.factories import classroom
from tests.subgraphs.quizzes.queries import (
    ATTEMPTS,
    CREATE_QUESTION,
    CREATE_QUIZ,
    PUBLISH_QUIZ,
    QUIZ,
    SAVE,
    START,
    SUBMIT,
    UPDATE_QUIZ,
    result,
)

# Right answers to the five questions of factories.QUESTIONS (points 2, 3, 1, 2, 2).
RIGHT = [{"choices": [1]}, {"choices": [2, 0]}, {"boolean": False}, {"text": "  paris "}, {"number": 3.141}]
WRONG = [{"choices": [0]}, {"choices": [0]}, {"boolean": True}, {"text": "Lyon"}, {"number": 3.2}]


async def start(gql, quiz_id, token) -> dict:
    return result(await gql(START, {"input": {"quizId": str(quiz_id)}}, token=token), "startQuizAttempt")


async def save(gql, attempt_id, question_id, answer, token, seconds=5) -> dict:
    variables = {
        "input": {
            "attemptId": attempt_id,
            "questionId": str(question_id),
            "answer": answer,
            "timeSpentSeconds": seconds,
        }
    }
    return result(await gql(SAVE, variables, token=token), "saveAnswer")


async def submit(gql, attempt_id, token) -> dict:
    return result(await gql(SUBMIT, {"input": {"attemptId": attempt_id}}, token=token), "submitQuizAttempt")


async def test_take_a_quiz_scored_on_the_server(quizzes_gql, courses, projector, quizzes_runtime):
    room = await classroom(courses, projector, quizzes_runtime, attempts_allowed=2, passing_score=50)
    token = room.school.student.token
    before = result(await quizzes_gql(QUIZ, {"id": str(room.quiz_id)}, token=token), "quiz")
    assert len(before["questions"]["nodes"]) == 5
    assert all(q["correctAnswer"] is None and q["explanation"] is None for q in before["questions"]["nodes"])

    attempt = (await start(quizzes_gql, room.quiz_id, token))["attempt"]
    assert attempt["number"] == 1 and attempt["deadlineAt"] is None
    # Starting again resumes the open attempt.
    assert (await start(quizzes_gql, room.quiz_id, token))["attempt"]["id"] == attempt["id"]
    for question_id, answer in zip(room.question_ids, WRONG, strict=True):
        assert (await save(quizzes_gql, attempt["id"], question_id, answer, token))[
            "__typename"
        ] == "SaveAnswerSuccess"
    # Idempotent per question: the last answer stands, one row each.
    for question_id, answer in zip(room.question_ids, RIGHT, strict=True):
        saved = await save(quizzes_gql, attempt["id"], question_id, answer, token, seconds=7)
        assert saved["answer"]["correct"] is None  # not before submitting
    async with quizzes_runtime.transaction() as session:
        assert (
            await session.scalar(
                select(func.count())
                .select_from(AttemptAnswer)
                .where(AttemptAnswer.attempt_id == uuid.UUID(attempt["id"]))
            )
            == 5
        )

    scored = (await submit(quizzes_gql, attempt["id"], token))["attempt"]
    assert (scored["score"], scored["maxScore"], scored["passed"], scored["late"]) == (
        10.0,
        10.0,
        True,
        False,
    )
    assert all(a["correct"] and a["timeSpentSeconds"] == 7 for a in scored["answers"]["nodes"])
    twice = await submit(quizzes_gql, attempt["id"], token)
    assert twice["code"] == "ALREADY_SUBMITTED"
    after_submit = await save(quizzes_gql, attempt["id"], room.question_ids[0], RIGHT[0], token)
    assert after_submit["code"] == "ALREADY_SUBMITTED"

    # An attempt is left: the answers stay hidden (AFTER_LAST_ATTEMPT, the default).
    hidden = result(await quizzes_gql(QUIZ, {"id": str(room.quiz_id)}, token=token), "quiz")
    assert all(q["correctAnswer"] is None and q["explanation"] is None for q in hidden["questions"]["nodes"])

    second = (await start(quizzes_gql, room.quiz_id, token))["attempt"]
    await save(quizzes_gql, second["id"], room.question_ids[0], RIGHT[0], token)
    await save(quizzes_gql, second["id"], room.question_ids[1], WRONG[1], token)
    partial = (await submit(quizzes_gql, second["id"], token))["attempt"]
    assert (partial["number"], partial["score"], partial["passed"]) == (2, 2.0, False)
    assert (await start(quizzes_gql, room.quiz_id, token))["code"] == "ATTEMPTS_EXHAUSTED"

    revealed = result(await quizzes_gql(QUIZ, {"id": str(room.quiz_id)}, token=token), "quiz")
    multiple = next(q for q in revealed["questions"]["nodes"] if q["type"] == "MULTIPLE_CHOICE")
    assert (
        multiple["correctAnswer"]["choices"] == [0, 2] and multiple["explanation"] == "4 and 9 are squares."
    )

    async with quizzes_runtime.transaction() as session:
        events = (await session.scalars(select(Outbox.event).order_by(Outbox.position))).all()
    submitted = [
        e
        for e in events
        if e["type"] == "quizzes.attempt.submitted" and e["payload"]["quiz_id"] == str(room.quiz_id)
    ]
    assert [e["payload"]["score"] for e in submitted] == [10.0, 2.0]
    assert (
        submitted[0]["payload"]["user_id"] == room.school.student.id
        and submitted[0]["payload"]["passed"] is True
    )

    # The instructor's view, filtered.
    view = result(
        await quizzes_gql(
            ATTEMPTS,
            {"quiz": str(room.quiz_id), "filter": {"passed": True}},
            token=room.school.instructor.token,
        ),
        "quizAttempts",
    )
    assert [e["node"]["id"] for e in view["edges"]] == [attempt["id"]]
    everyone = result(
        await quizzes_gql(
            ATTEMPTS, {"quiz": str(room.quiz_id), "first": 1}, token=room.school.instructor.token
        ),
        "quizAttempts",
    )
    assert len(everyone["edges"]) == 1 and everyone["pageInfo"]["hasNextPage"] is True
    refused = await quizzes_gql(ATTEMPTS, {"quiz": str(room.quiz_id)}, token=token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_answering_a_question_of_another_quiz(quizzes_gql, courses, projector, quizzes_runtime):
    room = await classroom(courses, projector, quizzes_runtime)
    other = await classroom(courses, projector, quizzes_runtime)
    token = room.school.student.token
    attempt = (await start(quizzes_gql, room.quiz_id, token))["attempt"]
    answer = await save(quizzes_gql, attempt["id"], other.question_ids[0], RIGHT[0], token)
    assert answer["code"] == "QUESTION_NOT_IN_QUIZ" and "questionId" in answer["message"]
    shape = await save(quizzes_gql, attempt["id"], room.question_ids[0], {"boolean": True}, token)
    assert shape["fieldErrors"][0]["field"] == "input.answer.choices"
    out_of_range = await save(quizzes_gql, attempt["id"], room.question_ids[0], {"choices": [7]}, token)
    assert out_of_range["fieldErrors"][0]["field"] == "input.answer.choices"
    someone_else = await save(
        quizzes_gql, attempt["id"], room.question_ids[0], RIGHT[0], other.school.student.token
    )
    assert someone_else["code"] == "NOT_FOUND"
    async with quizzes_runtime.transaction() as session:
        assert (
            await session.scalar(
                select(func.count())
                .select_from(AttemptAnswer)
                .where(AttemptAnswer.attempt_id == uuid.UUID(attempt["id"]))
            )
            == 0
        )


async def test_late_submission_is_scored_with_answers_saved_in_time(
    quizzes_gql, courses, projector, quizzes_runtime
):
    room = await classroom(courses, projector, quizzes_runtime, time_limit_seconds=600)
    token = room.school.student.token
    attempt = (await start(quizzes_gql, room.quiz_id, token))["attempt"]
    assert attempt["deadlineAt"] is not None
    await save(quizzes_gql, attempt["id"], room.question_ids[0], RIGHT[0], token)
    # Ten minutes pass: everything of the attempt is moved 601 s into the past rather than waiting.
    shift = timedelta(seconds=601)
    attempt_id = uuid.UUID(attempt["id"])
    async with quizzes_runtime.transaction() as session:
        await session.execute(
            update(QuizAttempt)
            .where(QuizAttempt.id == attempt_id)
            .values(started_at=QuizAttempt.started_at - shift, deadline_at=QuizAttempt.deadline_at - shift)
        )
        await session.execute(
            update(AttemptAnswer)
            .where(AttemptAnswer.attempt_id == attempt_id)
            .values(saved_at=AttemptAnswer.saved_at - shift)
        )
    late = await save(quizzes_gql, attempt["id"], room.question_ids[1], RIGHT[1], token)
    assert late["code"] == "TIME_UP"
    scored = (await submit(quizzes_gql, attempt["id"], token))["attempt"]
    assert (scored["score"], scored["maxScore"], scored["late"], scored["passed"]) == (2.0, 10.0, True, False)
    assert [a["questionId"] for a in scored["answers"]["nodes"]] == [str(room.question_ids[0])]
    # An expired attempt is not resumed: the next start is a new attempt.
    assert (await start(quizzes_gql, room.quiz_id, token))["attempt"]["number"] == 2


async def test_start_needs_enrollment_and_a_published_quiz_and_course(
    quizzes_gql, courses, projector, quizzes_runtime
):
    room = await classroom(courses, projector, quizzes_runtime)
    member = await courses.minter.member(room.school.org, "student")
    assert (await start(quizzes_gql, room.quiz_id, member.token))["code"] == "NOT_ENROLLED"
    outsider = await courses.minter.user()
    assert (await start(quizzes_gql, room.quiz_id, outsider.token))["code"] == "NOT_FOUND"
    draft = await classroom(courses, projector, quizzes_runtime, publish=False)
    assert (await start(quizzes_gql, draft.quiz_id, draft.school.student.token))["code"] == "NOT_FOUND"
    await archive_course(courses.runtime, room.school.instructor.meta, id=room.course_id)
    await projector.sync(courses={room.course_id: "ARCHIVED"})
    assert (await start(quizzes_gql, room.quiz_id, room.school.student.token))["code"] == "QUIZ_NOT_OPEN"
    # Dropping the enrollment closes the quiz to that student.
    fresh = await classroom(courses, projector, quizzes_runtime)
    async with courses.runtime.transaction() as session:
        from subgraphs.courses.models import Enrollment

        enrollment_id = await session.scalar(
            select(Enrollment.id).where(Enrollment.course_id == fresh.course_id)
        )
    await drop_enrollment(courses.runtime, fresh.school.student.meta, enrollment_id=enrollment_id)
    await projector.sync(enrollments={(fresh.course_id, fresh.school.student.id): "DROPPED"})
    assert (await start(quizzes_gql, fresh.quiz_id, fresh.school.student.token))["code"] == "NOT_ENROLLED"


async def test_authoring_bad_input_is_typed_and_writes_nothing(
    quizzes_gql, courses, projector, quizzes_runtime
):
    room = await classroom(courses, projector, quizzes_runtime, publish=False)
    token = room.school.instructor.token
    cases = [
        (
            {
                "type": "SINGLE_CHOICE",
                "prompt": "?",
                "options": ["a", "b"],
                "correctChoices": [0],
                "points": -1,
            },
            "input.question.points",
        ),
        (
            {
                "type": "SINGLE_CHOICE",
                "prompt": "?",
                "options": ["a", "b"],
                "correctChoices": [0],
                "points": 0,
            },
            "input.question.points",
        ),
        (
            {"type": "SINGLE_CHOICE", "prompt": "?", "options": ["a"], "correctChoices": [0]},
            "input.question.options",
        ),
        (
            {"type": "SINGLE_CHOICE", "prompt": "?", "options": ["a", "b"], "correctChoices": [0, 1]},
            "input.question.correctChoices",
        ),
        (
            {"type": "MULTIPLE_CHOICE", "prompt": "?", "options": ["a", "b"], "correctChoices": [5]},
            "input.question.correctChoices",
        ),
        ({"type": "TRUE_FALSE", "prompt": "?"}, "input.question.correctBoolean"),
        ({"type": "SHORT_ANSWER", "prompt": "?", "acceptedAnswers": []}, "input.question.acceptedAnswers"),
        ({"type": "NUMERIC", "prompt": "?", "correctNumber": 1, "tolerance": -1}, "input.question.tolerance"),
        ({"type": "NUMERIC", "prompt": "  "}, "input.question.prompt"),
    ]
    for question, field in cases:
        body = await quizzes_gql(
            CREATE_QUESTION, {"input": {"quizId": str(room.quiz_id), "question": question}}, token=token
        )
        answer = result(body, "createQuestion")
        assert answer["__typename"] == "ValidationError" and answer["fieldErrors"][0]["field"] == field, (
            question,
            answer,
        )
    async with quizzes_runtime.transaction() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(Question).where(Question.quiz_id == room.quiz_id)
            )
            == 5
        )
    bad_quiz = await quizzes_gql(
        CREATE_QUIZ,
        {"input": {"courseId": str(room.course_id), "title": "Q", "passingScore": 101}},
        token=token,
    )
    assert result(bad_quiz, "createQuiz")["fieldErrors"][0]["field"] == "input.passingScore"
    unknown_course = await quizzes_gql(
        CREATE_QUIZ, {"input": {"courseId": str(uuid.uuid4()), "title": "Q"}}, token=token
    )
    assert result(unknown_course, "createQuiz")["code"] == "NOT_FOUND"
    student = await quizzes_gql(
        CREATE_QUIZ,
        {"input": {"courseId": str(room.course_id), "title": "Q"}},
        token=room.school.student.token,
    )
    assert result(student, "createQuiz")["code"] == "FORBIDDEN"
    async with quizzes_runtime.transaction() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(Quiz).where(Quiz.course_id == room.course_id)
            )
            == 1
        )
    empty = result(
        await quizzes_gql(
            CREATE_QUIZ, {"input": {"courseId": str(room.course_id), "title": "Empty"}}, token=token
        ),
        "createQuiz",
    )["quiz"]
    assert (
        result(await quizzes_gql(PUBLISH_QUIZ, {"input": {"id": empty["id"]}}, token=token), "publishQuiz")[
            "code"
        ]
        == "NOT_PUBLISHABLE"
    )
    limited = result(
        await quizzes_gql(UPDATE_QUIZ, {"input": {"id": empty["id"], "timeLimitSeconds": 5}}, token=token),
        "updateQuiz",
    )
    assert limited["fieldErrors"][0]["field"] == "input.timeLimitSeconds"


async def test_a_quiz_with_attempts_is_not_deleted(quizzes_gql, courses, projector, quizzes_runtime):
    from tests.subgraphs.quizzes.queries import mutation

    delete_quiz = mutation("deleteQuiz", "QuizIdInput", "DeleteQuizItemSuccess { id }")
    room = await classroom(courses, projector, quizzes_runtime)
    spare = await classroom(courses, projector, quizzes_runtime)
    await start(quizzes_gql, room.quiz_id, room.school.student.token)
    refused = result(
        await quizzes_gql(
            delete_quiz, {"input": {"id": str(room.quiz_id)}}, token=room.school.instructor.token
        ),
        "deleteQuiz",
    )
    assert refused["code"] == "HAS_ATTEMPTS"
    deleted = result(
        await quizzes_gql(
            delete_quiz, {"input": {"id": str(spare.quiz_id)}}, token=spare.school.instructor.token
        ),
        "deleteQuiz",
    )
    assert deleted == {"__typename": "DeleteQuizItemSuccess", "id": str(spare.quiz_id)}
    async with quizzes_runtime.transaction() as session:
        assert await session.get(Quiz, room.quiz_id) is not None
        assert await session.get(Quiz, spare.quiz_id) is None


async def test_a_whole_number_answer_reads_back_as_a_number(quizzes_gql, courses, projector, quizzes_runtime):
    """A numeric answer of 3 (or a service caller's int) is stored as a number, not read back as choice 3."""
    room = await classroom(courses, projector, quizzes_runtime)
    token = room.school.student.token
    attempt = (await start(quizzes_gql, room.quiz_id, token))["attempt"]
    await save(quizzes_gql, attempt["id"], room.question_ids[4], {"number": 3}, token)
    from subgraphs.quizzes import attempts, grading

    await attempts.save_answer(
        quizzes_runtime,
        room.school.student.meta,
        attempt_id=uuid.UUID(attempt["id"]),
        question_id=room.question_ids[4],
        answer=grading.Answer(number=4),
        time_spent_seconds=1,
    )
    answers = (await start(quizzes_gql, room.quiz_id, token))["attempt"]["answers"]["nodes"]
    assert [(a["number"], a["choices"]) for a in answers] == [(4.0, None)]
