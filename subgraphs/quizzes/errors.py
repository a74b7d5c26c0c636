"""Error codes of the quizzes domain (ConflictError / ValidationError with these codes)."""

from __future__ import annotations

from enum import StrEnum

from subgraphs.core.errors import Conflict, DomainError


class QuizErrorCode(StrEnum):
    NOT_PUBLISHABLE = "NOT_PUBLISHABLE"
    QUIZ_NOT_OPEN = "QUIZ_NOT_OPEN"
    NOT_ENROLLED = "NOT_ENROLLED"
    ATTEMPTS_EXHAUSTED = "ATTEMPTS_EXHAUSTED"
    ALREADY_SUBMITTED = "ALREADY_SUBMITTED"
    QUESTION_NOT_IN_QUIZ = "QUESTION_NOT_IN_QUIZ"
    TIME_UP = "TIME_UP"
    HAS_ATTEMPTS = "HAS_ATTEMPTS"


class NotPublishable(Conflict):
    default_code = QuizErrorCode.NOT_PUBLISHABLE.value
    default_message = "A quiz is published with at least one question."


class QuizNotOpen(Conflict):
    default_code = QuizErrorCode.QUIZ_NOT_OPEN.value
    default_message = "This quiz does not take attempts (not published, or its course is not)."


class NotEnrolled(Conflict):
    default_code = QuizErrorCode.NOT_ENROLLED.value
    default_message = "Enroll in the course first."


class AttemptsExhausted(Conflict):
    default_code = QuizErrorCode.ATTEMPTS_EXHAUSTED.value
    default_message = "You have used every attempt this quiz allows."


class AlreadySubmitted(Conflict):
    default_code = QuizErrorCode.ALREADY_SUBMITTED.value
    default_message = "This attempt was already submitted."


class QuestionNotInQuiz(Conflict):
    default_code = QuizErrorCode.QUESTION_NOT_IN_QUIZ.value
    default_message = "This question (input.questionId) belongs to another quiz."


class TimeUp(Conflict):
    default_code = QuizErrorCode.TIME_UP.value
    default_message = "The time limit of this attempt has passed: submit it."


class HasAttempts(Conflict):
    default_code = QuizErrorCode.HAS_ATTEMPTS.value
    default_message = "Students have attempted this quiz: unpublish it instead (their results stay)."


QUIZZES_ERRORS: tuple[type[DomainError], ...] = ()
