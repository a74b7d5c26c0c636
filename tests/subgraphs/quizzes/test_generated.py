"""A generated quiz applied by the quizzes domain's consumer of `events.generator` (a real generator job,
real relay and Redis streams): a DRAFT quiz with the generated questions on the course; applying twice
creates nothing twice; another organization's event is ignored with a warning."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import func, select

from subgraphs.contracts.generation import Kind
from subgraphs.core.events import Event
from subgraphs.quizzes.generated import GeneratedQuizConsumer, apply_generated_quiz
from subgraphs.quizzes.models import AppliedGeneration, Outbox, Question, Quiz
from tests.subgraphs.courses.generation import deliver, drain
from tests.subgraphs.quizzes.queries import reps

QUIZZES = """query($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Course {
  quizzes { nodes { title status questions(first: 100) { nodes { type prompt options
    correctAnswer { choices boolean acceptedAnswers } } } } } } } }"""

APPLIED_QUIZ = """query($representations: [_Any!]!) { _entities(representations: $representations) {
  ... on GenerationJob { appliedQuiz { title status } } } }"""


def consumer(runtime) -> GeneratedQuizConsumer:
    return GeneratedQuizConsumer(runtime.redis, runtime.sessionmaker, name="tests", block_ms=10)


async def applied_quiz(runtime, job_id):
    async with runtime.transaction() as session:
        row = await session.get(AppliedGeneration, job_id)
    return row and row.quiz_id


async def quizzes_of(runtime, course_id) -> int:
    async with runtime.transaction() as session:
        return await session.scalar(select(func.count()).select_from(Quiz).where(Quiz.course_id == course_id))


async def draft_course(courses, projector):
    school = await courses.school()
    course = await courses.course(school, publish=False)
    await projector.sync(courses={course.id: "DRAFT"})
    return school, course


async def test_a_generated_quiz_becomes_a_draft_quiz_of_the_course(
    courses, projector, quizzes_runtime, quizzes_gql, generation
):
    school, course = await draft_course(courses, projector)
    job_id, event = await generation.applied(
        school.instructor, Kind.QUIZ, school.org, course_id=course.id, module_id=uuid.uuid4()
    )
    assert await deliver(
        quizzes_runtime, consumer(quizzes_runtime), lambda: applied_quiz(quizzes_runtime, job_id)
    )
    draft = event["payload"]["result"]
    body = await quizzes_gql(QUIZZES, reps("Course", course.id), token=school.instructor.token)
    [quiz] = body["data"]["_entities"][0]["quizzes"]["nodes"]
    assert (quiz["title"], quiz["status"]) == (draft["title"], "DRAFT")
    questions = quiz["questions"]["nodes"]
    assert [q["prompt"] for q in questions] == [q["prompt"] for q in draft["questions"]]
    for generated, question in zip(draft["questions"], questions, strict=True):
        correct = question["correctAnswer"]
        if generated["type"] == "MULTIPLE_CHOICE":
            assert question["options"] == generated["options"]
            chosen = [question["options"][i] for i in correct["choices"]]
            assert sorted(chosen) == sorted(generated["correct_answers"])
            assert question["type"] == "MULTIPLE_CHOICE", "the requested type is kept, one correct or more"
        elif generated["type"] == "TRUE_FALSE":
            assert question["type"] == "TRUE_FALSE"
            assert correct["boolean"] == (generated["correct_answers"] == ["true"])
        else:
            assert correct["acceptedAnswers"] == generated["correct_answers"]
    assert {q["type"] for q in draft["questions"]} == {"MULTIPLE_CHOICE", "TRUE_FALSE", "SHORT_ANSWER"}
    job = {"representations": [{"__typename": "GenerationJob", "id": str(job_id)}]}
    body = await quizzes_gql(APPLIED_QUIZ, job, token=school.instructor.token)
    assert body["data"]["_entities"][0]["appliedQuiz"] == {"title": draft["title"], "status": "DRAFT"}
    # Students see no draft.
    body = await quizzes_gql(QUIZZES, reps("Course", course.id), token=school.student.token)
    assert body["data"]["_entities"][0]["quizzes"]["nodes"] == []
    body = await quizzes_gql(APPLIED_QUIZ, job, token=school.student.token)
    assert body["data"]["_entities"][0]["appliedQuiz"] is None


async def test_applying_a_quiz_twice_creates_nothing_twice(courses, projector, quizzes_runtime, generation):
    school, course = await draft_course(courses, projector)
    job_id, event = await generation.applied(
        school.instructor, Kind.QUIZ, school.org, course_id=course.id, module_id=uuid.uuid4()
    )
    assert await deliver(
        quizzes_runtime, consumer(quizzes_runtime), lambda: applied_quiz(quizzes_runtime, job_id)
    )
    async with quizzes_runtime.transaction() as session:
        questions = await session.scalar(select(func.count()).select_from(Question))
        outbox = await session.scalar(select(func.count()).select_from(Outbox))
    await generation.emit_again(event)
    await drain(quizzes_runtime, consumer(quizzes_runtime))
    assert (
        await apply_generated_quiz(
            quizzes_runtime.sessionmaker, quizzes_runtime.redis, Event.model_validate(event)
        )
        is None
    )
    again = Event.model_validate({**event, "id": str(uuid.uuid4())})
    assert await apply_generated_quiz(quizzes_runtime.sessionmaker, quizzes_runtime.redis, again) is None
    assert await quizzes_of(quizzes_runtime, course.id) == 1
    async with quizzes_runtime.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Question)) == questions
        assert await session.scalar(select(func.count()).select_from(Outbox)) == outbox


async def test_another_organizations_quiz_event_is_ignored_with_a_warning(
    courses, projector, quizzes_runtime, generation, caplog
):
    victim, course = await draft_course(courses, projector)
    attacker = await courses.school()
    attacker_course = await courses.course(attacker, publish=False)
    await projector.sync(courses={attacker_course.id: "DRAFT"})
    _, event = await generation.applied(
        attacker.instructor, Kind.QUIZ, attacker.org, course_id=attacker_course.id, module_id=uuid.uuid4()
    )
    forged_job = str(uuid.uuid4())
    forged = await generation.emit_again(
        event,
        subject_ids={"job_id": forged_job, "course_id": str(course.id)},
        payload={**event["payload"], "course_id": str(course.id)},
    )
    with caplog.at_level(logging.WARNING, logger="coursegraph.quizzes"):
        await drain(quizzes_runtime, consumer(quizzes_runtime))
        direct = forged.model_copy(update={"id": uuid.uuid4()})
        assert await apply_generated_quiz(quizzes_runtime.sessionmaker, quizzes_runtime.redis, direct) is None
    assert await quizzes_of(quizzes_runtime, course.id) == 0
    assert await applied_quiz(quizzes_runtime, uuid.UUID(forged_job)) is None
    assert any(forged_job in r.getMessage() and "ignored" in r.getMessage() for r in caplog.records)
