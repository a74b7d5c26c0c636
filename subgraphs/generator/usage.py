"""An organization's daily token budget (from the budgets projection, budgets.py) and what its jobs used."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.db import utcnow
from subgraphs.core.rbac import Permission, authorize
from subgraphs.core.settings import GeneratorSettings
from subgraphs.generator.jobs import MANAGE
from subgraphs.generator.models import GenerationJob, OrganizationBudget
from subgraphs.generator.providers.base import ProviderName

USAGE = Permission.VIEW_ALL_ANALYTICS


def _day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def tokens_used_today(session: Any, organization_id: uuid.UUID) -> int:
    used = await session.scalar(
        select(func.coalesce(func.sum(GenerationJob.input_tokens + GenerationJob.output_tokens), 0)).where(
            GenerationJob.organization_id == organization_id,
            GenerationJob.finished_at >= _day_start(utcnow()),
            # Every provider's reported tokens count (OFFLINE's too), so the budget behaves the same
            # whichever provider answered; cached results spent nothing.
            GenerationJob.cached.is_(False),
        )
    )
    return int(used or 0)


async def daily_budget(session: Any, settings: GeneratorSettings, organization_id: uuid.UUID) -> int:
    """The organization's `generation_daily_token_budget` (from the budgets projection, see budgets.py),
    or the platform default when it has none."""
    own = await session.scalar(
        select(OrganizationBudget.daily_token_budget).where(
            OrganizationBudget.organization_id == organization_id
        )
    )
    return settings.daily_token_budget if own is None else own


@dataclass(frozen=True)
class UsageRow:
    organization_id: uuid.UUID
    provider: ProviderName
    model: str
    jobs: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal


@dataclass(frozen=True)
class Budget:
    organization_id: uuid.UUID
    daily_token_budget: int
    tokens_used_today: int


async def budget(runtime: Runtime, meta: RequestMeta, organization_id: uuid.UUID) -> Budget:
    """Today's token budget and what is used of it (for those who may generate: instructors, admins),
    counted as `submit` counts it."""
    await authorize(meta.caller, MANAGE, organization_id)
    async with runtime.transaction() as session:
        limit = await daily_budget(session, runtime.settings.generator, organization_id)
        used = await tokens_used_today(session, organization_id)
    return Budget(organization_id, limit, used)


async def usage(
    runtime: Runtime, meta: RequestMeta, organization_id: uuid.UUID, since: datetime | None
) -> list[UsageRow]:
    await authorize(meta.caller, USAGE, organization_id)
    since = since or _day_start(utcnow())
    async with runtime.transaction() as session:
        rows = (
            await session.execute(
                select(
                    GenerationJob.provider,
                    GenerationJob.model,
                    func.count(),
                    func.sum(GenerationJob.input_tokens),
                    func.sum(GenerationJob.output_tokens),
                    func.sum(GenerationJob.cost_usd),
                )
                .where(
                    GenerationJob.organization_id == organization_id,
                    GenerationJob.finished_at >= since,
                    GenerationJob.provider.is_not(None),
                )
                .group_by(GenerationJob.provider, GenerationJob.model)
                .order_by(GenerationJob.provider, GenerationJob.model)
            )
        ).all()
    # A provider and its model are stored together: the query's jobs have both (the check narrows).
    return [
        UsageRow(organization_id, ProviderName(p), m, int(n), int(i or 0), int(o or 0), Decimal(c or 0))
        for p, m, n, i, o, c in rows
        if p is not None and m is not None
    ]
