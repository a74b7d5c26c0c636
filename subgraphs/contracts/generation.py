"""The structured output of each generation kind: validated by the generator before anything is stored,
announced in `generator.result.applied`, applied by courses (syllabus, slides, exercises) and quizzes.

`Syllabus` follows the original design's syllabus prompt (title, overview, learning_objectives,
modules[week, title, topics, duration_hours], prerequisites, assessments).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Kind(StrEnum):
    SYLLABUS = "SYLLABUS"
    SLIDES = "SLIDES"
    EXERCISES = "EXERCISES"
    QUIZ = "QUIZ"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


Text = Field(min_length=1, max_length=4000)


class SyllabusModule(_Strict):
    week: int = Field(ge=1, le=104)
    title: str = Field(min_length=1, max_length=200)
    topics: list[str] = Field(min_length=1, max_length=30)
    duration_hours: float = Field(gt=0, le=200)


class Syllabus(_Strict):
    title: str = Field(min_length=1, max_length=200)
    overview: str = Field(min_length=1, max_length=8000)
    learning_objectives: list[str] = Field(min_length=1, max_length=30)
    modules: list[SyllabusModule] = Field(min_length=1, max_length=104)
    prerequisites: list[str] = Field(default_factory=list, max_length=30)
    assessments: list[str] = Field(default_factory=list, max_length=30)

    @model_validator(mode="after")
    def _weeks_in_order(self) -> Syllabus:
        weeks = [m.week for m in self.modules]
        if weeks != sorted(weeks):
            raise ValueError("modules must be in week order")
        return self


class Slide(_Strict):
    title: str = Field(min_length=1, max_length=200)
    bullets: list[str] = Field(min_length=1, max_length=12)
    speaker_notes: str = ""


class SlideDeck(_Strict):
    title: str = Field(min_length=1, max_length=200)
    slides: list[Slide] = Field(min_length=1, max_length=80)


class GeneratedExercise(_Strict):
    title: str = Field(min_length=1, max_length=200)
    instructions: str = Field(min_length=1, max_length=8000)
    language: str = Field(min_length=1, max_length=32)
    starter_code: str = ""
    solution: str = Field(min_length=1)
    tests: str = Field(min_length=1)


class ExerciseSet(_Strict):
    exercises: list[GeneratedExercise] = Field(min_length=1, max_length=20)


QuestionType = Literal["MULTIPLE_CHOICE", "TRUE_FALSE", "SHORT_ANSWER"]


class QuizQuestion(_Strict):
    type: QuestionType
    prompt: str = Field(min_length=1, max_length=2000)
    options: list[str] = Field(default_factory=list, max_length=10)
    correct_answers: list[str] = Field(min_length=1, max_length=10)
    explanation: str = ""

    @model_validator(mode="after")
    def _answers_match_options(self) -> QuizQuestion:
        if self.type == "MULTIPLE_CHOICE":
            if len(self.options) < 2:
                raise ValueError("a multiple-choice question needs at least two options")
            unknown = [a for a in self.correct_answers if a not in self.options]
            if unknown:
                raise ValueError(f"correct_answers must be among options (not {unknown})")
        if self.type == "TRUE_FALSE" and self.correct_answers not in (["true"], ["false"]):
            raise ValueError('a true/false question has correct_answers ["true"] or ["false"]')
        return self


class QuizDraft(_Strict):
    title: str = Field(min_length=1, max_length=200)
    questions: list[QuizQuestion] = Field(min_length=1, max_length=50)


RESULT_MODELS: dict[Kind, type[BaseModel]] = {
    Kind.SYLLABUS: Syllabus,
    Kind.SLIDES: SlideDeck,
    Kind.EXERCISES: ExerciseSet,
    Kind.QUIZ: QuizDraft,
}
