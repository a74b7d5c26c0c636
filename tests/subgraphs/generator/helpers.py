"""Queries and helpers of the generator tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select

from subgraphs.generator.models import GenerationEvent, GenerationJob, Outbox

TIMEOUT = 15.0

JOB_FIELDS = """
  id kind status progress cached error attempts provider model promptVersion inputTokens outputTokens costUsd
  createdAt finishedAt appliedAt input organization { id } course { id } requestedBy { id }
  result {
    __typename
    ... on Syllabus { title overview learningObjectives modules { week title topics durationHours }
                      prerequisites assessments }
    ... on QuizDraft { title questions { type prompt options correctAnswers } }
    ... on SlideDeck { title slides { title bullets } }
    ... on ExerciseSet { exercises { title language } }
  }
"""

GENERATE_SYLLABUS = """
mutation($input: GenerateSyllabusInput!) {
  generateSyllabus(input: $input) {
    __typename
    ... on GenerationJobSuccess { job { %s } }
    ... on Error { message code }
    ... on BudgetExceededError { dailyTokenBudget tokensUsedToday }
    ... on ValidationError { fieldErrors { field message } }
  }
}""".replace("%s", JOB_FIELDS)

GENERATE_QUIZ = """
mutation($input: GenerateQuizInput!) {
  generateQuiz(input: $input) {
    __typename
    ... on GenerationJobSuccess { job { %s } }
    ... on Error { message code }
  }
}""".replace("%s", JOB_FIELDS)

JOB = "query($id: ID!) { generationJob(id: $id) { %s } }".replace("%s", JOB_FIELDS)

JOBS = """
query($filter: GenerationJobFilter, $first: Int, $after: String) {
  generationJobs(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id status kind course { id } requestedBy { id } } }
    pageInfo { hasNextPage endCursor }
  }
}"""

CANCEL = """
mutation($input: GenerationJobIdInput!) {
  cancelGenerationJob(input: $input) {
    __typename ... on GenerationJobSuccess { job { id status } } ... on Error { code message }
  }
}"""

APPLY = """
mutation($input: GenerationJobIdInput!) {
  applyGenerationResult(input: $input) {
    __typename ... on GenerationJobSuccess { job { id status appliedAt } } ... on Error { code message }
  }
}"""

USAGE = """
query($org: ID!, $since: DateTime) {
  generationUsage(organizationId: $org, since: $since) {
    organizationId provider model jobs inputTokens outputTokens costUsd
  }
}"""

ENTITIES = """
query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on GenerationJob { id status kind }
    ... on Course { id generationJobs { nodes { id status } } }
  }
}"""


def syllabus_input(org: str, title: str, **overrides: Any) -> dict[str, Any]:
    return {
        "organizationId": org,
        "title": title,
        "audience": "working developers",
        "durationWeeks": 4,
        "difficulty": "INTERMEDIATE",
        **overrides,
    }


async def wait_for(
    condition: Callable[[], Awaitable[Any]], *, timeout: float = TIMEOUT, what: str = ""
) -> Any:
    """Poll `condition` until it returns something truthy (bounded): there is no notification to wait on."""
    deadline = time.monotonic() + timeout
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.02)


async def job_row(runtime: Any, job_id: Any) -> GenerationJob:
    async with runtime.transaction() as session:
        row = await session.get(GenerationJob, uuid.UUID(str(job_id)))
    assert row is not None
    return row


async def events_of(runtime: Any, job_id: Any) -> list[dict[str, Any]]:
    async with runtime.transaction() as session:
        rows = await session.scalars(
            select(GenerationEvent)
            .where(GenerationEvent.stream_id == uuid.UUID(str(job_id)))
            .order_by(GenerationEvent.seq)
        )
        return [{"seq": r.seq, **r.data} for r in rows]


async def outbox_events(runtime: Any, job_id: Any, type_: str) -> list[dict[str, Any]]:
    async with runtime.transaction() as session:
        rows = await session.scalars(
            select(Outbox.event).where(
                Outbox.type == type_, Outbox.event["subject_ids"]["job_id"].astext == str(job_id)
            )
        )
        return list(rows)


async def count_jobs(runtime: Any, organization_id: Any) -> int:
    async with runtime.transaction() as session:
        return await session.scalar(
            select(func.count()).where(GenerationJob.organization_id == uuid.UUID(str(organization_id)))
        )
