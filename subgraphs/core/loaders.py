"""Per-request DataLoader helpers: every relation and every `resolve_reference` batches through these."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute
from strawberry.dataloader import DataLoader

from subgraphs.core.context import Context

M = TypeVar("M")


def by_key_loader(
    context: Context, model: type[M], column: InstrumentedAttribute
) -> DataLoader[Any, M | None]:
    """One row per key (or None): `UserByIdLoader` = by_key_loader(ctx, User, User.id)."""

    async def load(keys: Sequence[Any]) -> list[M | None]:
        async with context.read() as session:
            rows = (await session.scalars(select(model).where(column.in_(keys)))).all()
        by_key = {getattr(row, column.key): row for row in rows}
        return [by_key.get(key) for key in keys]

    return DataLoader(load_fn=load)


def grouped_loader(
    context: Context,
    model: type[M],
    column: InstrumentedAttribute,
    *,
    order_by: Callable[[], Sequence[Any]] = tuple,
) -> DataLoader[Any, list[M]]:
    """All rows per key: `MembershipsByUserIdLoader` = grouped_loader(ctx, Membership, Membership.user_id)."""

    async def load(keys: Sequence[Any]) -> list[list[M]]:
        async with context.read() as session:
            stmt = select(model).where(column.in_(keys)).order_by(*order_by())
            rows = (await session.scalars(stmt)).all()
        grouped: dict[Any, list[M]] = defaultdict(list)
        for row in rows:
            grouped[getattr(row, column.key)].append(row)
        return [grouped.get(key, []) for key in keys]

    return DataLoader(load_fn=load)
