"""Relay connections with keyset (cursor) pagination: stable under inserts, O(page) per request."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
import strawberry
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.federation.schema_directives import ListSize

from subgraphs.core.errors import InvalidInput

T = TypeVar("T")
N = TypeVar("N")

DEFAULT_PAGE_SIZE = 20

# Demand control: the router estimates a connection's cost as `first` nodes (edges and nodes alike). Every
# field returning a connection carries it and a non-null `first` with a default, so neither an omitted nor
# an explicit null `first` is estimated as one node (tests/core/test_schema_costs.py checks the schemas).
SIZED_BY_FIRST = ListSize(slicing_arguments=["first"], sized_fields=["edges", "nodes"])


def list_size(assumed: int) -> ListSize:
    """For a plain list of objects: the most items it holds, as the router's cost estimate assumes."""
    return ListSize(assumed_size=assumed)


@strawberry.federation.type(shareable=True)  # every subgraph's connections return it
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]


def encode_cursor(values: Sequence[Any]) -> str:
    encoded = [v.isoformat() if isinstance(v, datetime) else str(v) for v in values]
    return base64.urlsafe_b64encode(orjson.dumps(encoded)).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[str]:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError as exc:
        raise InvalidInput({"after": "Not a cursor from this list."}) from exc
    if not isinstance(values, list) or len(values) != arity:
        raise InvalidInput({"after": "Not a cursor from this list."})
    return values


def check_page_size(first: int | None, max_page_size: int) -> int:
    size = DEFAULT_PAGE_SIZE if first is None else first
    if not 0 < size <= max_page_size:
        raise InvalidInput({"first": f"Must be between 1 and {max_page_size}."})
    return size


async def paginate(
    session: AsyncSession,
    stmt: Select,
    *,
    sort_columns: Sequence[Any],
    first: int | None,
    after: str | None,
    max_page_size: int,
    to_node: Callable[[Any], N],
    parse_cursor: Callable[[list[str]], Sequence[Any]],
    descending: bool = False,
) -> Connection[N]:
    """Keyset pagination over `sort_columns` (the last must be unique, e.g. the id), ascending or
    descending (newest first)."""
    size = check_page_size(first, max_page_size)
    if after:
        try:
            values = parse_cursor(decode_cursor(after, len(sort_columns)))
        except (ValueError, TypeError) as exc:  # a cursor of the right shape with forged values
            raise InvalidInput({"after": "Not a cursor from this list."}) from exc
        position, bound = tuple_(*sort_columns), tuple_(*values)
        stmt = stmt.where(position < bound if descending else position > bound)
    order = [column.desc() for column in sort_columns] if descending else list(sort_columns)
    rows = (await session.scalars(stmt.order_by(*order).limit(size + 1))).all()
    has_next = len(rows) > size
    rows = rows[:size]
    edges = [
        Edge(cursor=encode_cursor([getattr(row, col.key) for col in sort_columns]), node=to_node(row))
        for row in rows
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
