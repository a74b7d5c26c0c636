"""What the generator knows of organizations: each one's daily token budget, fed by `events.organizations`.

The generator never reads the organizations tables. `OrganizationBudgetsConsumer` (run by `coursegraph
worker`) applies `organizations.organization.created` (payload `settings`) and `...updated` (payload
`after.settings`, present when the settings changed) to `generator.organization_budget`; a row is only
overwritten by an event at least as recent as the one it holds (`as_of`), so redelivery and out-of-order
delivery are harmless. Until an organization's event arrives, the platform default applies.
"""

from __future__ import annotations

import logging
import uuid
from typing import ClassVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.contracts.organizations import announced_settings
from subgraphs.core.consumers import DatabaseConsumer, upsert_if_newer
from subgraphs.core.events import Event, stream_name
from subgraphs.generator.models import OrganizationBudget

log = logging.getLogger("coursegraph.generator")


async def apply_event(sessionmaker: async_sessionmaker[AsyncSession], event: Event) -> bool:
    """Record the organization's budget setting; False when the event says nothing about it."""
    settings = announced_settings(event)
    organization = event.organization_id or event.subject_ids.get("organization_id")
    if settings is None or organization is None:
        return False
    values = {
        "organization_id": uuid.UUID(organization),
        "daily_token_budget": settings.generation_daily_token_budget,
        "as_of": event.occurred_at,
    }
    stmt = upsert_if_newer(OrganizationBudget, [OrganizationBudget.organization_id], values)
    async with sessionmaker() as session, session.begin():
        await session.execute(stmt)
    return True


class OrganizationBudgetsConsumer(DatabaseConsumer):
    """Keeps `generator.organization_budget` (worker, group generator-organizations)."""

    group: ClassVar[str] = "generator-organizations"
    streams: ClassVar[tuple[str, ...]] = (stream_name("organizations"),)

    async def handle(self, event: Event) -> None:
        await apply_event(self.sessionmaker, event)
