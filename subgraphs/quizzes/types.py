"""GraphQL types of the quizzes subgraph."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

import strawberry

from subgraphs.core.entities import from_row
from subgraphs.core.errors import EditErrors
from subgraphs.core.federation import (
    COURSE,
    GENERATION_JOB,
    PERSON,
    Stub,
    linked_row,
    owned_reference,
    stub,
)
from subgraphs.core.ids import to_id
from subgraphs.core.loaders import warm_memberships
from subgraphs.core.pages import connection_field, page_connection, stub_connection, stub_connection_field
from subgraphs.core.pagination import Connection
from subgraphs.core.rbac import permitted
from subgraphs.quizzes import access, grading, models
from subgraphs.quizzes.access import QuizStatus
from subgraphs.quizzes.grading import QuestionType, ShowCorrectAnswers

# GraphQL enums: strawberry.enum registers the service's enum class itself (and returns it): fields name it.
strawberry.enum(QuizStatus, name="QuizStatus")
strawberry.enum(QuestionType, name="QuestionType")
strawberry.enum(
    ShowCorrectAnswers,
    name="ShowCorrectAnswers",
    description="When students see the correct answers and explanations: NEVER; AFTER_LAST_ATTEMPT (once "
    "no attempt is left; never for unlimited attempts); AFTER_EACH_ATTEMPT (after each submitted attempt, "
    "hidden again while the next one is open).",
)


async def _manages(info: strawberry.Info, organization_id: Any) -> bool:
    await warm_memberships(info.context)
    return await permitted(info.context.caller, access.MANAGE, organization_id)


async def _visible(info: strawberry.Info, quiz: models.Quiz) -> bool:
    enrolled = await info.context.loaders.my_enrollment_status_by_course_id.load(quiz.course_id)
    await warm_memberships(info.context)
    return await access.can_view_quiz(info.context.caller, quiz, enrolled)


async def _sees_attempt(info: strawberry.Info, attempt: models.QuizAttempt) -> bool:
    """The student themself, site admins, and instructors/admins of the course's organization."""
    if info.context.principal.user_id == attempt.user_id:
        return True
    return await _manages(info, attempt.organization_id)


@stub(COURSE)
class Course(Stub):
    @stub_connection_field("Quizzes of this course you may see, oldest first.")
    async def quizzes(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[Quiz]:
        return await stub_connection(
            info, info.context.loaders.quizzes_page_by_course_id, self.id, first, after, Quiz.from_model
        )


@stub(PERSON)
class User(Stub):
    @stub_connection_field("This person's quiz attempts, oldest first (the person and site admins).")
    async def quiz_attempts(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[QuizAttempt]:
        return await stub_connection(
            info,
            info.context.loaders.attempts_page_by_user_id,
            self.id,
            first,
            after,
            QuizAttempt.from_model,
            only_self=True,
        )


@stub(GENERATION_JOB)
class GenerationJob(Stub):
    @strawberry.federation.field(
        authenticated=True,
        description="The draft quiz created from this QUIZ job's result; null until the worker has applied "
        "it, for other kinds, or when you may not see the quiz.",
    )
    async def applied_quiz(self, info: strawberry.Info) -> Quiz | None:
        loaders = info.context.loaders
        row = await linked_row(info, loaders.applied_quiz_id_by_job_id, loaders.quiz_by_id, self.id, _visible)
        return Quiz.from_model(row) if row else None


@strawberry.type(description="The right answer: the field of the question's type is set.")
class CorrectAnswer:
    choices: list[int] | None = None
    boolean: bool | None = None
    accepted_answers: list[str] | None = None
    number: float | None = None
    tolerance: float | None = None


@strawberry.type(
    description="A question. Its correct answer and explanation show to authors, and to students as the "
    "quiz's `showCorrectAnswers` says — never while they can still answer it."
)
class Question:
    id: strawberry.ID
    type: QuestionType
    prompt: str
    options: list[str]
    points: int
    position: int
    _row: strawberry.Private[models.Question]
    _reveal: strawberry.Private[bool]

    @strawberry.field
    def correct_answer(self) -> CorrectAnswer | None:
        if not self._reveal:
            return None
        kind, correct = QuestionType(self._row.type), self._row.correct
        if kind in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
            return CorrectAnswer(choices=list(correct))
        if kind == QuestionType.TRUE_FALSE:
            return CorrectAnswer(boolean=bool(correct[0]))
        if kind == QuestionType.SHORT_ANSWER:
            return CorrectAnswer(accepted_answers=list(correct))
        return CorrectAnswer(number=float(correct[0]), tolerance=float(correct[1]))

    @strawberry.field(description="Null when none was written (or while hidden).")
    def explanation(self) -> str | None:
        return self._row.explanation if self._reveal and self._row.explanation.strip() else None

    @classmethod
    def from_model(cls, row: models.Question, reveal: bool) -> Question:
        return from_row(cls, row, type=QuestionType(row.type), options=list(row.options), _reveal=reveal)


@strawberry.federation.type(keys=["id"], description="A quiz of a course.")
class Quiz:
    id: strawberry.ID
    title: str
    description: str
    time_limit_seconds: int | None
    attempts_allowed: int | None = strawberry.field(description="Null: unlimited.")
    passing_score: int = strawberry.field(description="Percent of the points needed to pass.")
    shuffle_questions: bool
    show_correct_answers: ShowCorrectAnswers
    status: QuizStatus
    created_at: datetime
    updated_at: datetime
    _row: strawberry.Private[models.Quiz]

    @strawberry.field
    def course(self) -> Course:
        return Course(id=to_id(self._row.course_id))

    @connection_field(
        "In order; shuffled per student (a stable order, which the cursor follows) when the quiz says so."
    )
    async def questions(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[Question]:
        # Both loads first, in the same tick as every other quiz's: a permission check (a Redis read) in
        # between would spread the loads over ticks and split their batches. The page's order (shuffled
        # or not) is decided inside the loader.
        loaders = info.context.loaders
        page, mine = await asyncio.gather(
            loaders.questions_page_by_quiz_id.load((self._row.id, first, after)),
            loaders.my_attempts_by_quiz_id.load(self._row.id),
        )
        manages = await _manages(info, self._row.organization_id)
        reveal = manages or grading.reveals_answers(self._row, list(mine))
        return page.connection(lambda r: Question.from_model(r, reveal))

    @connection_field("Your attempts, first to last.")
    async def my_attempts(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[QuizAttempt]:
        return await page_connection(
            info.context.loaders.my_attempts_page_by_quiz_id,
            self._row.id,
            first,
            after,
            QuizAttempt.from_model,
        )

    @classmethod
    def from_model(cls, row: models.Quiz) -> Quiz:
        return from_row(
            cls,
            row,
            show_correct_answers=ShowCorrectAnswers(row.show_correct_answers),
            status=QuizStatus(row.status),
        )

    resolve_reference = owned_reference("quiz_by_id", _visible)


@strawberry.type(
    description="A saved answer; `correct` and `pointsAwarded` are set when the attempt is submitted."
)
class AttemptAnswer:
    question_id: strawberry.ID
    choices: list[int] | None
    boolean: bool | None
    text: str | None
    number: float | None
    saved_at: datetime
    time_spent_seconds: int
    correct: bool | None
    points_awarded: float | None

    @classmethod
    def from_model(cls, row: models.AttemptAnswer, question_type: str | None = None) -> AttemptAnswer:
        value = row.answer
        first = value[0] if value else None
        return cls(
            question_id=to_id(row.question_id),
            choices=[int(v) for v in value]
            if isinstance(first, int) and not isinstance(first, bool)
            else None,
            boolean=first if isinstance(first, bool) else None,
            text=first if isinstance(first, str) else None,
            number=float(first) if isinstance(first, float) else None,
            saved_at=row.saved_at,
            time_spent_seconds=row.time_spent_seconds,
            correct=row.correct,
            points_awarded=row.points_awarded,
        )


@strawberry.federation.type(
    keys=["id"], description="One try at a quiz, scored on the server when submitted."
)
class QuizAttempt:
    id: strawberry.ID
    number: int
    started_at: datetime
    deadline_at: datetime | None
    submitted_at: datetime | None
    score: float | None
    max_score: float | None
    passed: bool | None
    late: bool = strawberry.field(
        description="Submitted after the time limit (scored with what was saved in time)."
    )
    _row: strawberry.Private[models.QuizAttempt]

    @strawberry.field
    def user(self) -> User:
        return User(id=to_id(self._row.user_id))

    @strawberry.field
    async def quiz(self, info: strawberry.Info) -> Quiz:
        return Quiz.from_model(await info.context.loaders.quiz_by_id.load(self._row.quiz_id))

    @connection_field(
        "In the order the student saw the questions (their own shuffled order when the quiz shuffles)."
    )
    async def answers(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[AttemptAnswer]:
        return await page_connection(
            info.context.loaders.answers_page_by_attempt_id,
            self._row.id,
            first,
            after,
            AttemptAnswer.from_model,
        )

    @classmethod
    def from_model(cls, row: models.QuizAttempt) -> QuizAttempt:
        return from_row(cls, row)

    resolve_reference = owned_reference("attempt_by_id", _sees_attempt)


QuizAttemptConnection = Connection[QuizAttempt]

# --- inputs ---------------------------------------------------------------------------------------


@strawberry.input
class CreateQuizInput:
    course_id: strawberry.ID
    title: str
    description: str | None = None
    time_limit_seconds: int | None = None
    attempts_allowed: int | None = None
    passing_score: int = 60
    shuffle_questions: bool = False
    show_correct_answers: ShowCorrectAnswers = ShowCorrectAnswers.AFTER_LAST_ATTEMPT


@strawberry.input(description="Only the fields given change; 0 removes the time limit / attempts limit.")
class UpdateQuizInput:
    id: strawberry.ID
    title: str | None = None
    description: str | None = None
    time_limit_seconds: int | None = None
    attempts_allowed: int | None = None
    passing_score: int | None = None
    shuffle_questions: bool | None = None
    show_correct_answers: ShowCorrectAnswers | None = None


@strawberry.input
class QuizIdInput:
    id: strawberry.ID


@strawberry.input(description="Set the fields of the question's type.")
class QuestionInput:
    type: QuestionType
    prompt: str
    options: list[str] | None = None
    correct_choices: list[int] | None = strawberry.field(default=None, description="Indices into options.")
    correct_boolean: bool | None = None
    accepted_answers: list[str] | None = strawberry.field(default=None, description="Compared ignoring case.")
    correct_number: float | None = None
    tolerance: float | None = None
    points: int = 1
    explanation: str | None = None


@strawberry.input
class CreateQuestionInput:
    quiz_id: strawberry.ID
    question: QuestionInput


@strawberry.input
class UpdateQuestionInput:
    id: strawberry.ID
    question: QuestionInput


@strawberry.input
class StartQuizAttemptInput:
    quiz_id: strawberry.ID


@strawberry.input(description="The field of the question's type: choices (indices), boolean, text or number.")
class AnswerInput:
    choices: list[int] | None = None
    boolean: bool | None = None
    text: str | None = None
    number: float | None = None


@strawberry.input
class SaveAnswerInput:
    attempt_id: strawberry.ID
    question_id: strawberry.ID
    answer: AnswerInput
    time_spent_seconds: int = 0


@strawberry.input
class SubmitQuizAttemptInput:
    attempt_id: strawberry.ID


@strawberry.input
class AttemptFilter:
    user_id: strawberry.ID | None = None
    submitted: bool | None = None
    passed: bool | None = None


# --- results --------------------------------------------------------------------------------------


@strawberry.type
class QuizSuccess:
    quiz: Quiz


@strawberry.type
class QuestionSuccess:
    question: Question


@strawberry.type
class QuizAttemptSuccess:
    attempt: QuizAttempt


@strawberry.type
class SaveAnswerSuccess:
    answer: AttemptAnswer


@strawberry.type
class DeleteQuizItemSuccess:
    id: strawberry.ID


CreateQuizResult = Annotated[QuizSuccess | EditErrors, strawberry.union("CreateQuizResult")]
UpdateQuizResult = Annotated[QuizSuccess | EditErrors, strawberry.union("UpdateQuizResult")]
PublishQuizResult = Annotated[QuizSuccess | EditErrors, strawberry.union("PublishQuizResult")]
UnpublishQuizResult = Annotated[QuizSuccess | EditErrors, strawberry.union("UnpublishQuizResult")]
DeleteQuizResult = Annotated[DeleteQuizItemSuccess | EditErrors, strawberry.union("DeleteQuizResult")]
CreateQuestionResult = Annotated[QuestionSuccess | EditErrors, strawberry.union("CreateQuestionResult")]
UpdateQuestionResult = Annotated[QuestionSuccess | EditErrors, strawberry.union("UpdateQuestionResult")]
DeleteQuestionResult = Annotated[DeleteQuizItemSuccess | EditErrors, strawberry.union("DeleteQuestionResult")]
StartQuizAttemptResult = Annotated[
    QuizAttemptSuccess | EditErrors, strawberry.union("StartQuizAttemptResult")
]
SaveAnswerResult = Annotated[SaveAnswerSuccess | EditErrors, strawberry.union("SaveAnswerResult")]
SubmitQuizAttemptResult = Annotated[
    QuizAttemptSuccess | EditErrors, strawberry.union("SubmitQuizAttemptResult")
]
