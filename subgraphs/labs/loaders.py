"""Per-request DataLoaders of the labs subgraph. Pages per parent are read in ONE statement per batch
(`row_number()` over the parent), whatever the number of parents."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, tuple_
from strawberry.dataloader import DataLoader

from subgraphs.core.context import Context
from subgraphs.core.loaders import by_key_loader
from subgraphs.core.pagination import cursor_values, time_id
from subgraphs.labs import service
from subgraphs.labs.models import (
    ExerciseProjection,
    LabEvent,
    LabSession,
    LabTemplate,
    OrganizationProjection,
)


@dataclass
class Loaders:
    session_by_id: DataLoader[Any, LabSession | None]
    template_by_id: DataLoader[Any, LabTemplate | None]
    template_by_ide: DataLoader[Any, LabTemplate | None]
    exercise_by_id: DataLoader[Any, ExerciseProjection | None]
    org_settings_by_id: DataLoader[Any, service.OrgLabSettings]
    sessions_by_user: DataLoader[Any, list[LabSession]]  # key: (user id, after, size)
    events_by_session: DataLoader[Any, list[LabEvent]]  # key: (session id, after, size)


def _pages(keys: Sequence[tuple[Any, str | None, int]]) -> dict[tuple[str | None, int], list[Any]]:
    """Parents grouped by (after, size): each group is one windowed statement."""
    groups: dict[tuple[str | None, int], list[Any]] = defaultdict(list)
    for parent, after, size in keys:
        groups[(after, size)].append(parent)
    return groups


def build_loaders(context: Context) -> Loaders:
    async def org_settings(ids: Sequence[Any]) -> list[service.OrgLabSettings]:
        async with context.transaction() as session:
            rows = (
                await session.scalars(
                    select(OrganizationProjection).where(OrganizationProjection.organization_id.in_(ids))
                )
            ).all()
        found = {r.organization_id: r.settings for r in rows}
        return [service.OrgLabSettings.of(found.get(i)) for i in ids]

    async def sessions_by_user(keys: Sequence[tuple[Any, str | None, int]]) -> list[list[LabSession]]:
        visible = await service.visible_clause(context.caller)
        result: dict[tuple[Any, str | None, int], list[LabSession]] = {}
        async with context.transaction() as session:
            for (after, size), users in _pages(keys).items():
                order = (LabSession.created_at.desc(), LabSession.id.desc())
                rank = func.row_number().over(partition_by=LabSession.user_id, order_by=order).label("rank")
                inner = select(LabSession, rank).where(LabSession.user_id.in_(users), visible)
                if after:
                    created, sid = cursor_values(after, time_id)
                    bound = tuple_(LabSession.created_at, LabSession.id)
                    inner = inner.where(bound < tuple_(created, sid))
                sub = inner.subquery()
                aliased = select(LabSession).from_statement(
                    select(sub).where(sub.c.rank <= size + 1).order_by(sub.c.user_id, sub.c.rank)
                )
                grouped: dict[Any, list[LabSession]] = defaultdict(list)
                for row in (await session.scalars(aliased)).all():
                    grouped[row.user_id].append(row)
                for user in users:
                    result[(user, after, size)] = grouped.get(user, [])
        return [result[k] for k in keys]

    async def events_by_session(keys: Sequence[tuple[Any, str | None, int]]) -> list[list[LabEvent]]:
        result: dict[tuple[Any, str | None, int], list[LabEvent]] = {}
        async with context.transaction() as session:
            for (after, size), sessions in _pages(keys).items():
                rank = (
                    func.row_number()
                    .over(partition_by=LabEvent.stream_id, order_by=LabEvent.seq)
                    .label("rank")
                )
                inner = select(LabEvent, rank).where(LabEvent.stream_id.in_(sessions))
                if after:
                    (seq,) = cursor_values(after, (int,))
                    inner = inner.where(LabEvent.seq > seq)
                sub = inner.subquery()
                stmt = select(LabEvent).from_statement(
                    select(sub).where(sub.c.rank <= size + 1).order_by(sub.c.stream_id, sub.c.rank)
                )
                grouped: dict[Any, list[LabEvent]] = defaultdict(list)
                for row in (await session.scalars(stmt)).all():
                    grouped[row.stream_id].append(row)
                for sid in sessions:
                    result[(sid, after, size)] = grouped.get(sid, [])
        return [result[k] for k in keys]

    return Loaders(
        session_by_id=by_key_loader(context, LabSession, LabSession.id),
        template_by_id=by_key_loader(context, LabTemplate, LabTemplate.id),
        template_by_ide=by_key_loader(context, LabTemplate, LabTemplate.ide),
        exercise_by_id=by_key_loader(context, ExerciseProjection, ExerciseProjection.exercise_id),
        org_settings_by_id=DataLoader(load_fn=org_settings),
        sessions_by_user=DataLoader(load_fn=sessions_by_user),
        events_by_session=DataLoader(load_fn=events_by_session),
    )
