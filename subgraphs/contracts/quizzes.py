"""The events of the quizzes domain (`events.quizzes`)."""

from __future__ import annotations

import uuid

from subgraphs.contracts.base import EventPayload


class QuizSnapshot(EventPayload):
    quiz_id: uuid.UUID
    course_id: uuid.UUID
    status: str  # DRAFT | PUBLISHED
    title: str


class QuizCreated(QuizSnapshot):
    TYPE = "quizzes.quiz.created"


class QuizUpdated(QuizSnapshot):
    TYPE = "quizzes.quiz.updated"


class QuizPublished(QuizSnapshot):
    TYPE = "quizzes.quiz.published"


class QuizUnpublished(QuizSnapshot):
    TYPE = "quizzes.quiz.unpublished"


class QuizDeleted(QuizSnapshot):
    TYPE = "quizzes.quiz.deleted"


class QuestionChanged(EventPayload):
    """A question changed: which one is in the envelope's subject ids, the payload is empty."""


class QuestionCreated(QuestionChanged):
    TYPE = "quizzes.question.created"


class QuestionUpdated(QuestionChanged):
    TYPE = "quizzes.question.updated"


class QuestionDeleted(QuestionChanged):
    TYPE = "quizzes.question.deleted"


class AttemptEvent(EventPayload):
    attempt_id: uuid.UUID
    quiz_id: uuid.UUID
    user_id: uuid.UUID
    course_id: uuid.UUID


class AttemptStarted(AttemptEvent):
    TYPE = "quizzes.attempt.started"
    number: int  # the student's n-th attempt of this quiz


class AttemptSubmitted(AttemptEvent):
    TYPE = "quizzes.attempt.submitted"
    score: float
    max_score: float
    passed: bool
    late: bool


class AnswerSaved(EventPayload):
    TYPE = "quizzes.answer.saved"
    attempt_id: uuid.UUID
    quiz_id: uuid.UUID
    question_id: uuid.UUID
    user_id: uuid.UUID
    course_id: uuid.UUID
    organization_id: uuid.UUID
    time_spent_ms: int


class ImportApplied(EventPayload):
    """The quizzes of `content.import.ready` were created (questions no rule of ours accepts are left out)."""

    TYPE = "quizzes.import.applied"
    import_id: uuid.UUID
    course_id: uuid.UUID
    quizzes: int
    questions: int
    questions_skipped: int = 0
