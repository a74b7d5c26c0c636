"""Query and Mutation of the quizzes subgraph. Resolvers stay thin: parse ids, call the service."""

from __future__ import annotations

from typing import Any

import strawberry

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
from subgraphs.quizzes import access, attempts, authoring, grading
from subgraphs.quizzes.errors import QUIZZES_ERRORS
from subgraphs.quizzes.types import (
    AttemptAnswer,
    AttemptFilter,
    Course,
    CreateQuestionInput,
    CreateQuestionResult,
    CreateQuizInput,
    CreateQuizResult,
    DeleteQuestionResult,
    DeleteQuizItemSuccess,
    DeleteQuizResult,
    GenerationJob,
    PublishQuizResult,
    Question,
    QuestionInput,
    QuestionSuccess,
    Quiz,
    QuizAttempt,
    QuizAttemptConnection,
    QuizAttemptSuccess,
    QuizIdInput,
    QuizSuccess,
    SaveAnswerInput,
    SaveAnswerResult,
    SaveAnswerSuccess,
    StartQuizAttemptInput,
    StartQuizAttemptResult,
    SubmitQuizAttemptInput,
    SubmitQuizAttemptResult,
    UnpublishQuizResult,
    UpdateQuestionInput,
    UpdateQuestionResult,
    UpdateQuizInput,
    UpdateQuizResult,
    User,
)


def _spec(q: QuestionInput) -> grading.QuestionSpec:
    return grading.QuestionSpec(
        type=grading.QuestionType(getattr(q.type, "value", q.type)),
        prompt=q.prompt,
        options=q.options,
        correct_choices=q.correct_choices,
        correct_boolean=q.correct_boolean,
        accepted_answers=q.accepted_answers,
        correct_number=q.correct_number,
        tolerance=q.tolerance,
        points=q.points,
        explanation=q.explanation,
    )


def _quiz_fields(input: CreateQuizInput | UpdateQuizInput) -> dict[str, Any]:
    return {
        "title": input.title,
        "description": input.description,
        "time_limit_seconds": input.time_limit_seconds,
        "attempts_allowed": input.attempts_allowed,
        "passing_score": input.passing_score,
        "shuffle_questions": input.shuffle_questions,
        "show_correct_answers": input.show_correct_answers,
    }


VIEW = member_or_scope_policy(access.VIEW)
MANAGE = member_or_scope_policy(access.MANAGE)


@strawberry.type
class Query:
    @authenticated_field(policy=VIEW, description="One quiz; null when absent or not visible to you.")
    async def quiz(self, info: strawberry.Info, id: strawberry.ID) -> Quiz | None:
        row = await call_service(info, authoring.get_quiz, id=parse_id(id, "id"))
        return Quiz.from_model(row) if row else None

    @paged_field(
        policy=MANAGE,
        description="Attempts of a quiz, oldest first, filtered (instructors and admins of its org).",
    )
    async def quiz_attempts(
        self,
        info: strawberry.Info,
        quiz_id: strawberry.ID,
        filter: AttemptFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> QuizAttemptConnection:
        f = filter or AttemptFilter()
        return await call_service(
            info,
            attempts.list_attempts,
            quiz_id=parse_id(quiz_id, "quizId"),
            filter=attempts.AttemptFilter(
                user_id=parse_optional_id(f.user_id, "filter.userId"), submitted=f.submitted, passed=f.passed
            ),
            page=PageRequest(first, after, QuizAttempt.from_model),
        )


@strawberry.type
class Mutation:
    @authenticated_mutation(policy=MANAGE, description="A draft quiz of a course.")
    async def create_quiz(self, info: strawberry.Info, input: CreateQuizInput) -> CreateQuizResult:
        course_id = parse_id(input.course_id, "input.courseId")
        row = await call_service(info, authoring.create_quiz, course_id=course_id, **_quiz_fields(input))
        return QuizSuccess(quiz=Quiz.from_model(row))

    @authenticated_mutation(policy=MANAGE)
    async def update_quiz(self, info: strawberry.Info, input: UpdateQuizInput) -> UpdateQuizResult:
        row = await call_with_input_id(info, authoring.update_quiz, input, **_quiz_fields(input))
        return QuizSuccess(quiz=Quiz.from_model(row))

    @authenticated_mutation(policy=MANAGE, description="Needs at least one question.")
    async def publish_quiz(self, info: strawberry.Info, input: QuizIdInput) -> PublishQuizResult:
        row = await call_with_input_id(info, authoring.publish_quiz, input)
        return QuizSuccess(quiz=Quiz.from_model(row))

    @authenticated_mutation(policy=MANAGE)
    async def unpublish_quiz(self, info: strawberry.Info, input: QuizIdInput) -> UnpublishQuizResult:
        row = await call_with_input_id(info, authoring.publish_quiz, input, published=False)
        return QuizSuccess(quiz=Quiz.from_model(row))

    @authenticated_mutation(
        policy=MANAGE, description="Only a quiz nobody attempted (unpublish it otherwise)."
    )
    async def delete_quiz(self, info: strawberry.Info, input: QuizIdInput) -> DeleteQuizResult:
        row = await call_with_input_id(info, authoring.delete_quiz, input)
        return DeleteQuizItemSuccess(id=strawberry.ID(str(row.id)))

    @authenticated_mutation(policy=MANAGE)
    async def create_question(
        self, info: strawberry.Info, input: CreateQuestionInput
    ) -> CreateQuestionResult:
        quiz_id = parse_id(input.quiz_id, "input.quizId")
        row = await call_service(info, authoring.create_question, quiz_id=quiz_id, spec=_spec(input.question))
        return QuestionSuccess(question=Question.from_model(row, True))

    @authenticated_mutation(policy=MANAGE)
    async def update_question(
        self, info: strawberry.Info, input: UpdateQuestionInput
    ) -> UpdateQuestionResult:
        row = await call_with_input_id(info, authoring.update_question, input, spec=_spec(input.question))
        return QuestionSuccess(question=Question.from_model(row, True))

    @authenticated_mutation(policy=MANAGE)
    async def delete_question(self, info: strawberry.Info, input: QuizIdInput) -> DeleteQuestionResult:
        row = await call_with_input_id(info, authoring.delete_question, input)
        return DeleteQuizItemSuccess(id=strawberry.ID(str(row.id)))

    @authenticated_mutation(
        policy=USER_POLICY, description="Start (or resume) an attempt: enrolled students."
    )
    async def start_quiz_attempt(
        self, info: strawberry.Info, input: StartQuizAttemptInput
    ) -> StartQuizAttemptResult:
        row = await call_service(
            info, attempts.start_attempt, quiz_id=parse_id(input.quiz_id, "input.quizId")
        )
        return QuizAttemptSuccess(attempt=QuizAttempt.from_model(row))

    @authenticated_mutation(policy=USER_POLICY, description="Save or replace the answer to one question.")
    async def save_answer(self, info: strawberry.Info, input: SaveAnswerInput) -> SaveAnswerResult:
        a = input.answer
        row = await call_service(
            info,
            attempts.save_answer,
            attempt_id=parse_id(input.attempt_id, "input.attemptId"),
            question_id=parse_id(input.question_id, "input.questionId"),
            answer=grading.Answer(choices=a.choices, boolean=a.boolean, text=a.text, number=a.number),
            time_spent_seconds=input.time_spent_seconds,
        )
        return SaveAnswerSuccess(answer=AttemptAnswer.from_model(row))

    @authenticated_mutation(policy=USER_POLICY, description="Submit: scored on the server; once.")
    async def submit_quiz_attempt(
        self, info: strawberry.Info, input: SubmitQuizAttemptInput
    ) -> SubmitQuizAttemptResult:
        attempt_id = parse_id(input.attempt_id, "input.attemptId")
        row = await call_service(info, attempts.submit_attempt, attempt_id=attempt_id)
        return QuizAttemptSuccess(attempt=QuizAttempt.from_model(row))


schema = build_schema(
    query=Query,
    mutation=Mutation,
    types=[Quiz, QuizAttempt, Course, User, GenerationJob],
    errors=QUIZZES_ERRORS,
)
