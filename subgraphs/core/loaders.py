"""Per-request DataLoader helpers: every relation and every `resolve_reference` batches through these."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute
from strawberry.dataloader import DataLoader

from subgraphs.core.context import Context
from subgraphs.core.db import reads_as_row

M = TypeVar("M")

# One row (or None) per key, e.g. what `by_key_loader` reads: `course_by_id: RowLoader[Course]`.
RowLoader = DataLoader[Any, M | None]


def by_key_loader(context: Context, model: type[M], column: InstrumentedAttribute) -> RowLoader[M]:
    """One row per key (or None): `UserByIdLoader` = by_key_loader(ctx, User, User.id). Where the model
    `reads_as_row`, the rows are read-only Core rows of its table, typed as the model (resolvers only read
    them); otherwise ORM instances."""
    as_row = reads_as_row(model)
    table = sa_inspect(model).local_table

    async def load(keys: Sequence[Any]) -> list[M | None]:
        async with context.read() as session:
            if as_row:
                result = await (await session.connection()).execute(select(table).where(column.in_(keys)))
            else:
                result = (await session.execute(select(model).where(column.in_(keys)))).scalars()
            rows = result.all()
        by_key = {getattr(row, column.key): cast(M, row) for row in rows}
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


def value_loader(
    context: Context, key: InstrumentedAttribute, value: InstrumentedAttribute
) -> DataLoader[Any, Any]:
    """One column's value per key (or None):
    `applied_quiz_id_by_job_id` = value_loader(ctx, AppliedGeneration.job_id, AppliedGeneration.quiz_id)."""

    async def load(keys: Sequence[Any]) -> list[Any]:
        async with context.read() as session:
            rows = (await session.execute(select(key, value).where(key.in_(keys)))).all()
        found = {row_key: row_value for row_key, row_value in rows}
        return [found.get(k) for k in keys]

    return DataLoader(load_fn=load)


def memberships_loader(context: Context) -> DataLoader[Any, Any]:
    """The viewer's memberships, read once per request: see `warm_memberships`."""

    async def load(user_ids: Sequence[Any]) -> list[Any]:
        return [await context.memberships.of(u) for u in user_ids]

    return DataLoader(load_fn=load)


async def warm_memberships(context: Context) -> None:
    """Read the viewer's memberships through the request's one shared loader future (`memberships_by_user_id`,
    a `memberships_loader`): concurrent resolvers then resume in the same tick, so their next loads stay in
    one batch, and the permission checks that follow hit the request's cache."""
    user_id = context.principal.user_id
    if user_id is not None:
        await context.loaders.memberships_by_user_id.load(str(user_id))
