"""The per-organization daily token budget comes from the organization's settings
(`generation_daily_token_budget`, null = the platform default), which the generator learns only from
`events.organizations` (its own projection, fed by the worker's consumer — real relay, real streams)."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

from subgraphs.core.db import utcnow
from subgraphs.core.domains import outboxes
from subgraphs.core.events import OutboxRelay
from subgraphs.generator.budgets import OrganizationBudgetsConsumer
from subgraphs.generator.models import GenerationJob, OrganizationBudget
from subgraphs.organizations import tenants as org_tenants
from tests.fakes.anthropic_server import MODEL
from tests.subgraphs.generator.helpers import GENERATE_SYLLABUS, count_jobs, syllabus_input

BUDGET = """query($org: ID!) {
  generationBudget(organizationId: $org) { dailyTokenBudget tokensUsedToday tokensLeft }
}"""


async def project_budget(gen_runtime, org: str, expected: int | None) -> None:
    """Relay committed events and run the budgets consumer until the projection holds `expected`."""
    relay = OutboxRelay(gen_runtime.sessionmaker, gen_runtime.redis, outboxes())
    consumer = OrganizationBudgetsConsumer(
        gen_runtime.redis, gen_runtime.sessionmaker, name="tests", block_ms=10
    )
    await consumer.ensure_groups()
    deadline = time.monotonic() + 15
    while True:
        while await relay.relay_once():
            pass
        await consumer.consume_once(block_ms=10)
        async with gen_runtime.transaction() as session:
            row = await session.get(OrganizationBudget, uuid.UUID(org))
        if row is not None and row.daily_token_budget == expected:
            return
        assert time.monotonic() < deadline, f"budget of {org} not projected: {row and row.daily_token_budget}"


async def test_an_organization_budget_setting_refuses_before_any_call(
    gen_gql, gen_runtime, school, title, minter, anthropic_server
):
    await project_budget(gen_runtime, school.org, None)  # created with the platform default
    await org_tenants.update_organization(
        minter.runtime,
        school.admin.meta,
        id=uuid.UUID(school.org),
        settings={"generation_daily_token_budget": 100},
    )
    await project_budget(gen_runtime, school.org, 100)
    async with gen_runtime.transaction() as session:
        session.add(
            GenerationJob(
                organization_id=uuid.UUID(school.org),
                requested_by=school.instructor.id,
                requested_by_kind="user",
                kind="SYLLABUS",
                status="SUCCEEDED",
                input={},
                prompt_version="syllabus-v1",
                provider="ANTHROPIC",
                model=MODEL,
                input_tokens=60,
                output_tokens=40,
                cost_usd=Decimal("0.01"),
                finished_at=utcnow(),
                created_at=utcnow(),
            )
        )
    before, requests = await count_jobs(gen_runtime, school.org), len(anthropic_server.requests)
    body = await gen_gql(
        GENERATE_SYLLABUS, {"input": syllabus_input(school.org, title)}, token=school.instructor.token
    )
    result = body["data"]["generateSyllabus"]
    assert result["__typename"] == "BudgetExceededError", body
    assert (result["dailyTokenBudget"], result["tokensUsedToday"]) == (100, 100)
    assert await count_jobs(gen_runtime, school.org) == before  # nothing queued, so nothing called
    assert len(anthropic_server.requests) == requests
    shown = await gen_gql(BUDGET, {"org": school.org}, token=school.instructor.token)
    assert shown["data"]["generationBudget"] == {
        "dailyTokenBudget": 100,
        "tokensUsedToday": 100,
        "tokensLeft": 0,
    }, shown
    refused = await gen_gql(BUDGET, {"org": school.org}, token=school.student.token)
    assert refused["data"] is None and refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    # Back to the platform default (far above 100 tokens): accepted again.
    await org_tenants.update_organization(
        minter.runtime,
        school.admin.meta,
        id=uuid.UUID(school.org),
        settings={"generation_daily_token_budget": None},
    )
    await project_budget(gen_runtime, school.org, None)
    body = await gen_gql(
        GENERATE_SYLLABUS, {"input": syllabus_input(school.org, title)}, token=school.instructor.token
    )
    assert body["data"]["generateSyllabus"]["__typename"] == "GenerationJobSuccess", body


async def test_an_older_event_does_not_overwrite_a_newer_budget(gen_runtime):
    from datetime import timedelta

    from subgraphs.core.events import Event
    from subgraphs.generator.budgets import apply_event

    org, now = str(uuid.uuid4()), utcnow()

    def updated(budget, at):
        return Event(
            type="organizations.organization.updated",
            organization_id=org,
            occurred_at=at,
            payload={"after": {"settings": {"generation_daily_token_budget": budget}}},
        )

    assert await apply_event(gen_runtime.sessionmaker, updated(500, now)) is True
    assert await apply_event(gen_runtime.sessionmaker, updated(7, now - timedelta(seconds=5))) is True
    renamed = Event(
        type="organizations.organization.updated", organization_id=org, payload={"after": {"name": "X"}}
    )
    assert await apply_event(gen_runtime.sessionmaker, renamed) is False
    async with gen_runtime.transaction() as session:
        assert (await session.get(OrganizationBudget, uuid.UUID(org))).daily_token_budget == 500


async def test_offline_tokens_count_against_the_budget(gen_gql, gen_runtime, school, title, minter):
    """Every provider's reported tokens count, OFFLINE's too: the budget error is reachable without a paid
    provider."""
    await project_budget(gen_runtime, school.org, None)
    await org_tenants.update_organization(
        minter.runtime,
        school.admin.meta,
        id=uuid.UUID(school.org),
        settings={"generation_daily_token_budget": 50},
    )
    await project_budget(gen_runtime, school.org, 50)
    async with gen_runtime.transaction() as session:
        session.add(
            GenerationJob(
                organization_id=uuid.UUID(school.org),
                requested_by=school.instructor.id,
                requested_by_kind="user",
                kind="SYLLABUS",
                status="SUCCEEDED",
                input={},
                prompt_version="syllabus-v1",
                provider="OFFLINE",
                model="offline-v1",
                input_tokens=30,
                output_tokens=25,
                cost_usd=Decimal(0),
                finished_at=utcnow(),
                created_at=utcnow(),
            )
        )
    body = await gen_gql(
        GENERATE_SYLLABUS, {"input": syllabus_input(school.org, title)}, token=school.instructor.token
    )
    result = body["data"]["generateSyllabus"]
    assert result["__typename"] == "BudgetExceededError", body
    assert (result["dailyTokenBudget"], result["tokensUsedToday"]) == (50, 55)
