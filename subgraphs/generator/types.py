"""GraphQL types of the generator subgraph."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

import strawberry

from subgraphs.contracts.generation import Kind
from subgraphs.contracts.vocabulary import Difficulty
from subgraphs.core.entities import from_row
from subgraphs.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from subgraphs.core.federation import COURSE, Stub, for_caller, owned_reference, stub
from subgraphs.core.federation import OrganizationStub as Organization
from subgraphs.core.federation import UserStub as User
from subgraphs.core.ids import to_id, to_uuid
from subgraphs.core.pages import stub_connection, stub_connection_field
from subgraphs.core.pagination import Connection, list_size
from subgraphs.core.shared_results import shared_projection
from subgraphs.generator import jobs, models
from subgraphs.generator.errors import BudgetExceededError
from subgraphs.generator.providers.base import ProviderName

# strawberry.enum makes the domain's enum itself the GraphQL enum: fields are annotated with the domain's.
strawberry.enum(Kind, name="GenerationKind")
strawberry.enum(jobs.JobStatus, name="GenerationStatus")
strawberry.enum(
    ProviderName,
    name="GenerationProvider",
    description="Who wrote a result. OFFLINE: the deterministic "
    "built-in generator used when no model is configured — a placeholder draft, not AI output.",
)


# A Python enum of its own over the shared values: strawberry.enum marks the class it is given, and the
# courses subgraph marks contracts' Difficulty as its GraphQL enum `Difficulty`.
@strawberry.enum(name="SyllabusDifficulty")
class SyllabusDifficulty(StrEnum):
    BEGINNER = Difficulty.BEGINNER.value
    INTERMEDIATE = Difficulty.INTERMEDIATE.value
    ADVANCED = Difficulty.ADVANCED.value


# --- results ----------------------------------------------------------------------------------------


@strawberry.type
class SyllabusModule:
    week: int
    title: str
    topics: list[str]
    duration_hours: float


@strawberry.type(description="A drafted syllabus (the original design's structure).")
class Syllabus:
    title: str
    overview: str
    learning_objectives: list[str]
    modules: list[SyllabusModule] = strawberry.field(directives=[list_size(52)])
    prerequisites: list[str]
    assessments: list[str]


@strawberry.type
class Slide:
    title: str
    bullets: list[str]
    speaker_notes: str


@strawberry.type(description="Drafted lecture slides for a module.")
class SlideDeck:
    title: str
    slides: list[Slide] = strawberry.field(directives=[list_size(100)])


@strawberry.type
class DraftExercise:
    title: str
    instructions: str
    language: str
    starter_code: str
    solution: str
    tests: str


@strawberry.type(description="Drafted coding exercises for a module.")
class ExerciseSet:
    exercises: list[DraftExercise] = strawberry.field(directives=[list_size(50)])


@strawberry.type
class QuizDraftQuestion:
    type: str = strawberry.field(description="MULTIPLE_CHOICE, TRUE_FALSE or SHORT_ANSWER.")
    prompt: str
    options: list[str]
    correct_answers: list[str]
    explanation: str


@strawberry.type(description="A drafted quiz for a module.")
class QuizDraft:
    title: str
    questions: list[QuizDraftQuestion] = strawberry.field(directives=[list_size(100)])


GenerationResult = Annotated[
    Syllabus | SlideDeck | ExerciseSet | QuizDraft, strawberry.union("GenerationResult")
]


def result_of(kind: str, data: dict[str, Any] | None) -> Any:
    if data is None:
        return None
    if kind == Kind.SYLLABUS:
        return Syllabus(**{**data, "modules": [SyllabusModule(**m) for m in data["modules"]]})
    if kind == Kind.SLIDES:
        return SlideDeck(title=data["title"], slides=[Slide(**s) for s in data["slides"]])
    if kind == Kind.EXERCISES:
        return ExerciseSet(exercises=[DraftExercise(**e) for e in data["exercises"]])
    return QuizDraft(title=data["title"], questions=[QuizDraftQuestion(**q) for q in data["questions"]])


# --- entities -----------------------------------------------------------------------------------------


@stub(COURSE)
class Course(Stub):
    @stub_connection_field(
        "Generation jobs for this course you may see (your own; all of them if you manage its "
        "organization's courses), newest first."
    )
    async def generation_jobs(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[GenerationJob]:
        return await stub_connection(
            info, info.context.loaders.jobs_page_by_course_id, self.id, first, after, GenerationJob.from_model
        )


@strawberry.federation.type(keys=["id"], description="One AI generation: its input, progress and result.")
class GenerationJob:
    id: strawberry.ID
    kind: Kind
    status: jobs.JobStatus
    organization: Organization
    course: Course | None = strawberry.field(description="Null for a syllabus of a course not created yet.")
    module_id: strawberry.ID | None
    requested_by: User | None = strawberry.field(description="Null when an API client asked.")
    input: strawberry.scalars.JSON = strawberry.field(description="The normalized values the prompt used.")
    progress: int = strawberry.field(description="0–100, estimated from the text received so far.")
    result: GenerationResult | None
    provider: ProviderName | None
    model: str | None
    prompt_version: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    cached: bool = strawberry.field(description="Answered from the 24 h cache: no tokens, no cost.")
    error: str | None = strawberry.field(description="Why the job failed.")
    attempts: int = strawberry.field(description="How many times a worker started it.")
    created_at: datetime
    finished_at: datetime | None
    applied_at: datetime | None

    @classmethod
    def from_model(cls, row: models.GenerationJob) -> GenerationJob:
        return from_row(
            cls,
            row,
            kind=Kind(row.kind),
            status=jobs.JobStatus(row.status),
            organization=Organization(id=to_id(row.organization_id)),
            course=Course(id=to_id(row.course_id)) if row.course_id else None,
            module_id=to_id(row.module_id) if row.module_id else None,
            requested_by=User(id=strawberry.ID(row.requested_by))
            if row.requested_by_kind == "user"
            else None,
            input=strawberry.scalars.JSON(row.input),
            result=result_of(row.kind, row.result),
            provider=ProviderName(row.provider) if row.provider else None,
            cost_usd=float(row.cost_usd or Decimal(0)),
        )

    # The requester, site admins, and those who manage the organization's courses; null otherwise.
    resolve_reference = owned_reference("job_by_id", for_caller(jobs.can_view))


@shared_projection  # its followers share each event's result
@strawberry.type(description="One step of a job, in order. Replayed after `after`, then live.")
class GenerationEvent:
    seq: int
    at: datetime
    status: jobs.JobStatus
    progress: int
    message: str
    partial: str = strawberry.field(
        description="Text the model wrote since the previous event (concatenate to follow along); a new "
        "attempt starts over."
    )


@strawberry.type(description="Tokens and cost of finished jobs of an organization, per provider and model.")
class GenerationUsage:
    organization_id: strawberry.ID
    provider: ProviderName
    model: str
    jobs: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


@strawberry.type(
    description="An organization's AI generation budget for today (UTC); cached answers spend nothing."
)
class GenerationBudget:
    organization_id: strawberry.ID
    daily_token_budget: int
    tokens_used_today: int

    @strawberry.field(description="What may still be spent today (never below 0).")
    def tokens_left(self) -> int:
        return max(0, self.daily_token_budget - self.tokens_used_today)


# --- inputs and results -------------------------------------------------------------------------------


@strawberry.input
class GenerateSyllabusInput:
    organization_id: strawberry.ID
    title: str
    audience: str
    duration_weeks: int
    difficulty: SyllabusDifficulty = SyllabusDifficulty.BEGINNER
    course_id: strawberry.ID | None = strawberry.field(
        default=None, description="A course it is for, if any."
    )


@strawberry.input(description="Course data lives in the courses domain: pass the titles and topics to use.")
class ModuleContentInput:
    organization_id: strawberry.ID
    course_id: strawberry.ID
    module_id: strawberry.ID
    course_title: str
    module_title: str
    topics: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class GenerateSlidesInput(ModuleContentInput):
    pass


@strawberry.input
class GenerateExercisesInput(ModuleContentInput):
    count: int = 3
    language: str = "python"


@strawberry.input
class GenerateQuizInput(ModuleContentInput):
    question_count: int = 10
    question_types: list[str] = strawberry.field(default_factory=lambda: ["MULTIPLE_CHOICE"])


@strawberry.input
class GenerationJobIdInput:
    job_id: strawberry.ID


@strawberry.input
class GenerationJobFilter:
    organization_id: strawberry.ID | None = None
    course_id: strawberry.ID | None = None
    status: jobs.JobStatus | None = None
    kind: Kind | None = None


@strawberry.type
class GenerationJobSuccess:
    job: GenerationJob


GenerateResult = Annotated[
    GenerationJobSuccess
    | ValidationError
    | ForbiddenError
    | NotFoundError
    | ConflictError
    | BudgetExceededError,
    strawberry.union("GenerateResult"),
]
CancelGenerationJobResult = Annotated[
    GenerationJobSuccess | ConflictError | ForbiddenError | NotFoundError | ValidationError,
    strawberry.union("CancelGenerationJobResult"),
]
ApplyGenerationResultResult = Annotated[
    GenerationJobSuccess | ConflictError | ForbiddenError | NotFoundError | ValidationError,
    strawberry.union("ApplyGenerationResultResult"),
]


def uuid_or_none(value: Any) -> uuid.UUID | None:
    return to_uuid(value) if value is not None else None
