"""What the resolvers of every `schema.py` share, so that each stays a thin line over the service: call a
service function for this request's caller, and answer a page of a query newest first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from sqlalchemy import Select

from subgraphs.core.ids import parse_id
from subgraphs.core.pagination import Connection, paginate, time_id

T = TypeVar("T")
N = TypeVar("N")


async def call_service(
    info: strawberry.Info, action: Callable[..., Awaitable[T]], *args: Any, **arguments: Any
) -> T:
    """The service function `action` called for this request's caller, the way every service function is
    called: `action(runtime, meta, *args, **arguments)`."""
    return await action(info.context.runtime, info.context.meta, *args, **arguments)


async def call_with_input_id(
    info: strawberry.Info, action: Callable[..., Awaitable[T]], input: Any, **arguments: Any
) -> T:
    """The usual mutation of the one entity an input's `id` names: the service function `action` called as
    `action(runtime, meta, id=<input.id>, **arguments)` for this request's caller."""
    return await call_service(info, action, id=parse_id(input.id, "input.id"), **arguments)


async def newest_first(
    info: strawberry.Info,
    stmt: Select,
    model: Any,
    *,
    first: int,
    after: str | None,
    to_node: Callable[[Any], N],
) -> Connection[N]:
    """A page of the rows of `stmt` (a service's query of what the caller may see), newest first: keyset
    pagination on `model.created_at`, then `model.id`."""
    ctx = info.context
    async with ctx.transaction() as session:
        return await paginate(
            session,
            stmt,
            sort_columns=(model.created_at, model.id),
            first=first,
            after=after,
            max_page_size=ctx.settings.graphql.max_page_size,
            to_node=to_node,
            cursor_kinds=time_id,
            descending=True,
        )
