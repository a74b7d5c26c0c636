"""The events of the generator domain (`events.generator`)."""

from __future__ import annotations

import uuid
from typing import Self

from pydantic import model_validator

from subgraphs.contracts.base import EventPayload
from subgraphs.contracts.generation import RESULT_MODELS, ExerciseSet, Kind, QuizDraft, SlideDeck, Syllabus


class JobEvent(EventPayload):
    kind: Kind
    status: str  # the job's status after the change (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)


class JobRequested(JobEvent):
    TYPE = "generator.job.requested"
    requeued: bool = False  # put back in the queue because its worker stopped


class JobFinished(JobEvent):
    """A job's end: answered from the cache (`cached`), or by a provider (what it cost)."""

    cached: bool = False
    provider: str | None = None
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: str | None = None  # a decimal, as text
    error: str | None = None


class JobSucceeded(JobFinished):
    TYPE = "generator.job.succeeded"


class JobFailed(JobFinished):
    TYPE = "generator.job.failed"


class JobCancelled(JobEvent):
    TYPE = "generator.job.cancelled"


class ResultApplied(JobEvent):
    """A job's result to apply: SYLLABUS, SLIDES, EXERCISES by courses, QUIZ by quizzes. A SYLLABUS without
    `course_id` makes a new course; SLIDES go to `module_id` (or a new module)."""

    TYPE = "generator.result.applied"
    organization_id: uuid.UUID
    course_id: uuid.UUID | None = None
    module_id: uuid.UUID | None = None
    requested_by: str  # a user id, or an API client id
    requested_by_kind: str  # "user" | "client"
    result: Syllabus | SlideDeck | ExerciseSet | QuizDraft

    @model_validator(mode="after")
    def _result_of_kind(self) -> Self:
        if not isinstance(self.result, RESULT_MODELS[self.kind]):
            raise ValueError(f"a {self.kind} job's result is a {RESULT_MODELS[self.kind].__name__}")
        return self

    @property
    def requester_user_id(self) -> uuid.UUID | None:
        """The user who asked for it (None when an API client did, or the id is not a user's)."""
        if self.requested_by_kind != "user":
            return None
        try:
            return uuid.UUID(self.requested_by)
        except ValueError:
            return None
