"""Questions and their grading: their kinds, validation (errors name the mutation's input paths), server-side
scoring of an answer, and when a student sees the correct answers. No database here."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from subgraphs.core.errors import InvalidInput
from subgraphs.core.text import clean_long, clean_text
from subgraphs.quizzes.models import Question, Quiz, QuizAttempt

MAX_OPTIONS = 10


class ShowCorrectAnswers(StrEnum):
    """When students see a quiz's correct answers (and explanations): the instructor's choice per quiz."""

    NEVER = "NEVER"
    AFTER_LAST_ATTEMPT = "AFTER_LAST_ATTEMPT"
    AFTER_EACH_ATTEMPT = "AFTER_EACH_ATTEMPT"


def reveals_answers(quiz: Quiz, attempts: list[QuizAttempt]) -> bool:
    """Whether a student with these attempts of `quiz` sees its correct answers. Never while they can
    still answer it: not during an open attempt, and with AFTER_LAST_ATTEMPT not while an attempt is left
    (a quiz of unlimited attempts never shows them)."""
    if not attempts or any(a.submitted_at is None for a in attempts):
        return False
    rule = ShowCorrectAnswers(quiz.show_correct_answers)
    if rule is ShowCorrectAnswers.AFTER_EACH_ATTEMPT:
        return True
    if rule is ShowCorrectAnswers.AFTER_LAST_ATTEMPT:
        return quiz.attempts_allowed is not None and len(attempts) >= quiz.attempts_allowed
    return False


class QuestionType(StrEnum):
    SINGLE_CHOICE = "SINGLE_CHOICE"
    MULTIPLE_CHOICE = "MULTIPLE_CHOICE"
    TRUE_FALSE = "TRUE_FALSE"
    SHORT_ANSWER = "SHORT_ANSWER"
    NUMERIC = "NUMERIC"


@dataclass
class Answer:
    """What a student answers; the field matching the question's type is set."""

    choices: list[int] | None = None
    boolean: bool | None = None
    text: str | None = None
    number: float | None = None


@dataclass
class QuestionSpec:
    type: QuestionType
    prompt: str
    options: list[str] | None = None
    correct_choices: list[int] | None = None
    correct_boolean: bool | None = None
    accepted_answers: list[str] | None = None
    correct_number: float | None = None
    tolerance: float | None = None
    points: int = 1
    explanation: str | None = None


def _normalize(value: str) -> str:
    return " ".join(value.split()).casefold()


def clean_question(spec: QuestionSpec, field: str = "input.question") -> dict[str, Any]:
    """Validate a question; returns the row values (options, correct, points, ...). Errors name
    `field`'s members (`input.question.points`), where the question sits in the mutation's input."""
    if spec.points is None or spec.points <= 0 or spec.points > 1000:
        raise InvalidInput({f"{field}.points": "Give a positive number of points (at most 1000)."})
    prompt = clean_long(spec.prompt, f"{field}.prompt", limit=5000)
    if not prompt.strip():
        raise InvalidInput({f"{field}.prompt": "Ask something."})
    kind = spec.type
    options: list[str] = []
    if kind in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
        options = [clean_text(o, f"{field}.options.{i}", limit=500) for i, o in enumerate(spec.options or [])]
        if not 2 <= len(options) <= MAX_OPTIONS:
            raise InvalidInput({f"{field}.options": f"Give 2 to {MAX_OPTIONS} options."})
        choices = sorted(set(spec.correct_choices or []))
        if not choices or any(not 0 <= c < len(options) for c in choices):
            raise InvalidInput({f"{field}.correctChoices": "Name the correct options by their index."})
        if kind == QuestionType.SINGLE_CHOICE and len(choices) != 1:
            raise InvalidInput(
                {f"{field}.correctChoices": "A single-choice question has one correct option."}
            )
        correct: list[Any] = choices
    elif kind == QuestionType.TRUE_FALSE:
        if spec.correct_boolean is None:
            raise InvalidInput({f"{field}.correctBoolean": "Say whether the statement is true."})
        options, correct = ["True", "False"], [spec.correct_boolean]
    elif kind == QuestionType.SHORT_ANSWER:
        accepted = [
            clean_text(a, f"{field}.acceptedAnswers.{i}", limit=500)
            for i, a in enumerate(spec.accepted_answers or [])
        ]
        if not accepted:
            raise InvalidInput({f"{field}.acceptedAnswers": "Give at least one accepted answer."})
        correct = accepted
    else:
        if spec.correct_number is None or not math.isfinite(spec.correct_number):
            raise InvalidInput({f"{field}.correctNumber": "Give the correct number."})
        tolerance = spec.tolerance or 0.0
        if tolerance < 0 or not math.isfinite(tolerance):
            raise InvalidInput({f"{field}.tolerance": "Give a tolerance of zero or more."})
        correct = [spec.correct_number, tolerance]
    return {
        "type": kind.value,
        "prompt": prompt,
        "options": options,
        "correct": correct,
        "points": spec.points,
        "explanation": clean_long(spec.explanation, f"{field}.explanation", limit=5000),
    }


def clean_answer(question: Question, answer: Answer) -> list[Any]:
    """The stored form of an answer to `question`, or a ValidationError naming `input.answer`."""
    kind = QuestionType(question.type)
    if kind in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
        choices = sorted(set(answer.choices or []))
        if not choices or any(not 0 <= c < len(question.options) for c in choices):
            raise InvalidInput({"input.answer.choices": "Choose among the question's options (by index)."})
        if kind == QuestionType.SINGLE_CHOICE and len(choices) != 1:
            raise InvalidInput({"input.answer.choices": "Choose one option."})
        return choices
    if kind == QuestionType.TRUE_FALSE:
        if answer.boolean is None:
            raise InvalidInput({"input.answer.boolean": "Answer true or false."})
        return [answer.boolean]
    if kind == QuestionType.SHORT_ANSWER:
        if answer.text is None or not answer.text.strip() or len(answer.text) > 1000:
            raise InvalidInput({"input.answer.text": "Write an answer (under 1000 characters)."})
        return [answer.text.strip()]
    if answer.number is None or not math.isfinite(answer.number):
        raise InvalidInput({"input.answer.number": "Give a number."})
    # Stored as a float: a whole number kept as an int would read back as a choice index.
    return [float(answer.number)]


def is_correct(question: Question, stored: list[Any]) -> bool:
    kind = QuestionType(question.type)
    if kind == QuestionType.SHORT_ANSWER:
        return _normalize(str(stored[0])) in {_normalize(a) for a in question.correct}
    if kind == QuestionType.NUMERIC:
        value, tolerance = question.correct
        return abs(float(stored[0]) - float(value)) <= float(tolerance) + 1e-9
    return list(stored) == list(question.correct)
