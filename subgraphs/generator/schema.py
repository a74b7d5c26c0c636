"""Query, Mutation and Subscription of the generator subgraph. Resolvers stay thin: parse, call the service.

Router side: `@authenticated` everywhere and `@policy` (core.rbac.member_or_scope_policy) so API clients
need the permission's scope; the subgraph always re-checks with core.rbac.authorize.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import strawberry

from subgraphs.contracts import vocabulary
from subgraphs.contracts.generation import Kind
from subgraphs.core.ids import parse_id
from subgraphs.core.live import JobEvents, job_event
from subgraphs.core.pagination import Connection, PageRequest, list_size
from subgraphs.core.rbac import Permission, member_or_scope_policy
from subgraphs.core.resolvers import (
    authenticated_field,
    authenticated_mutation,
    authenticated_subscription,
    call_service,
    paged_field,
)
from subgraphs.core.schema import build_schema
from subgraphs.generator import api, jobs, usage
from subgraphs.generator.errors import GENERATOR_ERRORS
from subgraphs.generator.models import GenerationEvent as EventRow
from subgraphs.generator.providers.chain import build_chain
from subgraphs.generator.types import (
    ApplyGenerationResultResult,
    CancelGenerationJobResult,
    Course,
    GenerateExercisesInput,
    GenerateQuizInput,
    GenerateResult,
    GenerateSlidesInput,
    GenerateSyllabusInput,
    GenerationBudget,
    GenerationEvent,
    GenerationJob,
    GenerationJobFilter,
    GenerationJobIdInput,
    GenerationJobSuccess,
    GenerationUsage,
    ModuleContentInput,
    Organization,
    User,
    uuid_or_none,
)

VIEW = member_or_scope_policy(jobs.MANAGE)

JOB_EVENTS = JobEvents(
    model=EventRow,
    channel=jobs.channel,
    terminal=jobs.TERMINAL,
    visible=api.visible_job,
    can_view=jobs.can_view,
)


def _model(info: strawberry.Info) -> str:
    """The model that would answer now: part of the cache key."""
    runtime = info.context.runtime
    chain = runtime.extras.get("generator")
    if chain is None:
        chain = runtime.extras["generator"] = build_chain(runtime.settings.generator)
    return chain.model


async def _submit(info: strawberry.Info, submission: api.Submission) -> GenerationJobSuccess:
    row = await call_service(info, api.submit, submission, model=_model(info))
    return GenerationJobSuccess(job=GenerationJob.from_model(row))


def _module_submission(kind: Kind, input: ModuleContentInput, **extra: Any) -> api.Submission:
    return api.Submission(
        kind=kind,
        organization_id=parse_id(input.organization_id, "input.organizationId"),
        course_id=parse_id(input.course_id, "input.courseId"),
        module_id=parse_id(input.module_id, "input.moduleId"),
        values={
            "course_title": input.course_title,
            "module_title": input.module_title,
            "topics": list(input.topics),
            **extra,
        },
    )


@strawberry.type
class Query:
    @authenticated_field(
        policy=VIEW,
        description="One generation job: yours, or any of an organization whose courses you manage.",
    )
    async def generation_job(self, info: strawberry.Info, id: strawberry.ID) -> GenerationJob | None:
        row = await call_service(info, api.get_job, parse_id(id, "id"))
        return GenerationJob.from_model(row) if row else None

    @paged_field(policy=VIEW, description="Generation jobs you may see, newest first.")
    async def generation_jobs(
        self,
        info: strawberry.Info,
        filter: GenerationJobFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[GenerationJob]:
        flt = filter or GenerationJobFilter()
        return await call_service(
            info,
            api.list_jobs,
            api.JobFilter(
                organization_id=uuid_or_none(flt.organization_id),
                course_id=uuid_or_none(flt.course_id),
                status=jobs.JobStatus(flt.status) if flt.status else None,
                kind=Kind(flt.kind) if flt.kind else None,
            ),
            page=PageRequest(first, after, GenerationJob.from_model),
        )

    @authenticated_field(
        policy=VIEW,
        description="An organization's daily token budget and what is used of it today (who may generate).",
    )
    async def generation_budget(
        self, info: strawberry.Info, organization_id: strawberry.ID
    ) -> GenerationBudget:
        row = await call_service(info, usage.budget, parse_id(organization_id, "organizationId"))
        return GenerationBudget(
            organization_id=strawberry.ID(str(row.organization_id)),
            daily_token_budget=row.daily_token_budget,
            tokens_used_today=row.tokens_used_today,
        )

    @authenticated_field(
        directives=[list_size(50)],
        policy=member_or_scope_policy(Permission.VIEW_ALL_ANALYTICS),
        description="Tokens and cost of an organization's finished jobs since `since` (default: today, "
        "UTC), per provider and model.",
    )
    async def generation_usage(
        self, info: strawberry.Info, organization_id: strawberry.ID, since: datetime | None = None
    ) -> list[GenerationUsage]:
        rows = await call_service(info, usage.usage, parse_id(organization_id, "organizationId"), since)
        return [
            GenerationUsage(
                organization_id=strawberry.ID(str(r.organization_id)),
                provider=r.provider,
                model=r.model,
                jobs=r.jobs,
                input_tokens=r.input_tokens,
                output_tokens=r.output_tokens,
                cost_usd=float(r.cost_usd),
            )
            for r in rows
        ]


@strawberry.type
class Mutation:
    @authenticated_mutation(
        policy=member_or_scope_policy(Permission.CREATE_COURSES),
        description="Draft a syllabus (the original design's prompt). Returns the QUEUED job — or a "
        "SUCCEEDED one at once when an identical request is cached.",
    )
    async def generate_syllabus(self, info: strawberry.Info, input: GenerateSyllabusInput) -> GenerateResult:
        return await _submit(
            info,
            api.Submission(
                kind=Kind.SYLLABUS,
                organization_id=parse_id(input.organization_id, "input.organizationId"),
                course_id=parse_id(input.course_id, "input.courseId") if input.course_id else None,
                values={
                    "title": input.title,
                    "audience": input.audience,
                    "duration_weeks": input.duration_weeks,
                    "difficulty": vocabulary.Difficulty(input.difficulty).value,
                },
            ),
        )

    @authenticated_mutation(
        policy=member_or_scope_policy(Permission.UPDATE_COURSES),
        description="Draft lecture slides for a module.",
    )
    async def generate_slides(self, info: strawberry.Info, input: GenerateSlidesInput) -> GenerateResult:
        return await _submit(info, _module_submission(Kind.SLIDES, input))

    @authenticated_mutation(
        policy=member_or_scope_policy(Permission.UPDATE_COURSES),
        description="Draft coding exercises for a module.",
    )
    async def generate_exercises(
        self, info: strawberry.Info, input: GenerateExercisesInput
    ) -> GenerateResult:
        return await _submit(
            info, _module_submission(Kind.EXERCISES, input, count=input.count, language=input.language)
        )

    @authenticated_mutation(
        policy=member_or_scope_policy(Permission.UPDATE_COURSES), description="Draft a quiz for a module."
    )
    async def generate_quiz(self, info: strawberry.Info, input: GenerateQuizInput) -> GenerateResult:
        return await _submit(
            info,
            _module_submission(
                Kind.QUIZ,
                input,
                question_count=input.question_count,
                question_types=list(input.question_types),
            ),
        )

    @authenticated_mutation(
        policy=VIEW, description="Stop a queued or running job (the requester or managers)."
    )
    async def cancel_generation_job(
        self, info: strawberry.Info, input: GenerationJobIdInput
    ) -> CancelGenerationJobResult:
        row = await call_service(info, api.cancel, parse_id(input.job_id, "input.jobId"))
        return GenerationJobSuccess(job=GenerationJob.from_model(row))

    @authenticated_mutation(
        policy=VIEW,
        description="Hand a succeeded job's result to the course (event `generator.result.applied`, once: "
        "applying again changes nothing).",
    )
    async def apply_generation_result(
        self, info: strawberry.Info, input: GenerationJobIdInput
    ) -> ApplyGenerationResultResult:
        row = await call_service(info, api.apply, parse_id(input.job_id, "input.jobId"))
        return GenerationJobSuccess(job=GenerationJob.from_model(row))


@strawberry.type
class Subscription:
    @authenticated_subscription(
        description="A job's progress: events after `after` (the last `seq` you saw) are replayed, then "
        "followed live until the job ends. Reconnecting with `after` misses nothing and repeats nothing.",
    )
    async def generation_job_events(
        self, info: strawberry.Info, job_id: strawberry.ID, after: int | None = None
    ) -> AsyncGenerator[GenerationEvent, None]:
        async for message in JOB_EVENTS.follow(info.context, parse_id(job_id, "jobId"), after=after):
            partial = message["data"].get("partial", "")
            yield job_event(GenerationEvent, message, jobs.JobStatus, partial=partial)


schema = build_schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[User, Organization, Course, GenerationJob],
    errors=GENERATOR_ERRORS,
)
