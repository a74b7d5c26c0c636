"""What an export is made from, and what an import yields: a course as plain data.

The shared interface between the content subgraph (which reads a course and its quizzes, runs the
export job and stores the result) and the format writers/readers in this package."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ExportFormat(StrEnum):
    PDF = "PDF"
    PPTX = "PPTX"
    SCORM_12 = "SCORM_12"
    SCORM_2004 = "SCORM_2004"
    COMMON_CARTRIDGE = "COMMON_CARTRIDGE"


@dataclass(frozen=True)
class Attachment:
    """A file attached to a lesson; `data` is the current version's bytes."""

    name: str
    mime_type: str
    data: bytes


@dataclass(frozen=True)
class Lesson:
    title: str
    body_markdown: str = ""
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Exercise:
    title: str
    instructions_markdown: str = ""
    language: str = "python"


@dataclass(frozen=True)
class Module:
    title: str
    lessons: tuple[Lesson, ...] = ()


# One of a question's correct answers: an option index, a bool (an int), an accepted string or a number.
Answer = int | float | str


@dataclass(frozen=True)
class Question:
    """The quizzes subgraph's question, as stored. `type` is SINGLE_CHOICE | MULTIPLE_CHOICE |
    TRUE_FALSE | SHORT_ANSWER | NUMERIC. `correct` holds option indexes (choice types), [bool]
    (TRUE_FALSE), accepted strings (SHORT_ANSWER) or [number, tolerance] (NUMERIC). Writers that
    publish to learners (PDF) leave answers out; SCORM and QTI need them to score."""

    type: str
    prompt: str
    options: tuple[str, ...] = ()
    correct: tuple[Answer, ...] = ()
    points: int = 1
    explanation: str = ""


@dataclass(frozen=True)
class Quiz:
    title: str
    description: str = ""
    passing_score: int = 60  # percent
    questions: tuple[Question, ...] = ()


@dataclass(frozen=True)
class CourseDocument:
    title: str
    description: str = ""
    category: str = ""
    difficulty: str = "BEGINNER"
    language: str = "en"
    modules: tuple[Module, ...] = ()
    exercises: tuple[Exercise, ...] = ()
    quizzes: tuple[Quiz, ...] = field(default=())
