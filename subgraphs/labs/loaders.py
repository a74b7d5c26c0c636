"""Per-request DataLoaders of the labs subgraph. Pages per parent are read in ONE statement per batch
(core `page_loader`: `row_number()` over the parent), whatever the number of parents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from subgraphs.core.context import Context
from subgraphs.core.loaders import RowLoader, by_key_loader
from subgraphs.core.pages import PageLoader, newest_first, page_loader
from subgraphs.labs import access, states
from subgraphs.labs.models import (
    ExerciseProjection,
    LabEvent,
    LabSession,
    LabTemplate,
    OrganizationProjection,
)


@dataclass
class Loaders:
    session_by_id: RowLoader[LabSession]
    template_by_id: RowLoader[LabTemplate]
    template_by_ide: RowLoader[LabTemplate]
    exercise_by_id: RowLoader[ExerciseProjection]
    org_settings_by_id: DataLoader[Any, states.OrgLabSettings]
    sessions_page_by_user_id: PageLoader
    events_page_by_session_id: PageLoader


def build_loaders(context: Context) -> Loaders:
    async def org_settings(ids: Sequence[Any]) -> list[states.OrgLabSettings]:
        async with context.transaction() as session:
            rows = (
                await session.scalars(
                    select(OrganizationProjection).where(OrganizationProjection.organization_id.in_(ids))
                )
            ).all()
        found = {r.organization_id: r.settings for r in rows}
        return [states.OrgLabSettings.of(found.get(i)) for i in ids]

    return Loaders(
        session_by_id=by_key_loader(context, LabSession, LabSession.id),
        template_by_id=by_key_loader(context, LabTemplate, LabTemplate.id),
        template_by_ide=by_key_loader(context, LabTemplate, LabTemplate.ide),
        exercise_by_id=by_key_loader(context, ExerciseProjection, ExerciseProjection.exercise_id),
        org_settings_by_id=DataLoader(load_fn=org_settings),
        sessions_page_by_user_id=newest_first(context, LabSession.user_id, where=access.visible_clause),
        events_page_by_session_id=page_loader(context, LabEvent.stream_id, (LabEvent.seq,)),
    )
