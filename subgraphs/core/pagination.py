"""Relay connections with keyset (cursor) pagination: stable under inserts, O(page) per request."""

from __future__ import annotations

import base64
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import orjson
import strawberry
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.federation.schema_directives import ListSize

from subgraphs.core.errors import BadUserInput, InvalidInput
from subgraphs.core.text import text_problem

if TYPE_CHECKING:
    from subgraphs.core.context import DatabaseAccess

T = TypeVar("T")
N = TypeVar("N")

DEFAULT_PAGE_SIZE = 20

# Demand control: the router estimates a connection's cost as `first` nodes (edges and nodes alike). Every
# field returning a connection carries it and a non-null `first` with a default, so neither an omitted nor
# an explicit null `first` is estimated as one node (tests/core/test_schema_costs.py checks the schemas).
# pyright: ignore: strawberry types every ListSize argument as required; the directive takes any subset.
SIZED_BY_FIRST = ListSize(slicing_arguments=["first"], sized_fields=["edges", "nodes"])  # pyright: ignore[reportCallIssue]


def list_size(assumed: int) -> ListSize:
    """For a plain list of objects: the most items it holds, as the router's cost estimate assumes."""
    return ListSize(assumed_size=assumed)  # pyright: ignore[reportCallIssue]  # as SIZED_BY_FIRST


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


# A cursor is base64url(JSON list of tagged strings), one per sort column: the tag says the value's type, so
# every cursor is checked completely — shape, types and values — before any resolver or SQL sees it
# (`read_cursor`, called for every `after: String` argument by core.inputs.CheckInputs), and a list then
# only checks that the types are its own (`cursor_values`).
MAX_CURSOR_LENGTH = 1024
_INT32 = 2**31
_TAGS: dict[type, str] = {datetime: "t", uuid.UUID: "u", int: "i", float: "f", bytes: "b", str: "s"}

# The cursor types of the usual orders.
time_id = (datetime, uuid.UUID)  # (timestamp, id)
int_id = (int, uuid.UUID)  # (position, id)
bytes_id = (bytes, uuid.UUID)  # (a hash, id)


def bad_cursor() -> BadUserInput:
    return BadUserInput("after", "Not a cursor from this list.")


def _tagged(value: Any) -> str:
    # isinstance, not type(): asyncpg returns its own UUID subclass.
    tag = next(tag for kind, tag in _TAGS.items() if isinstance(value, kind) and not isinstance(value, bool))
    raw: Any = value  # the tag says which it is (the isinstance above narrows `value` to bool for checkers)
    text = raw.isoformat() if tag == "t" else raw.hex() if tag == "b" else str(raw)
    return f"{tag}:{text}"


def _untagged(text: str) -> Any:
    """The value of one tagged string; ValueError for anything our own cursors never hold."""
    tag, _, raw = text.partition(":")
    if tag == "t":
        value = datetime.fromisoformat(raw)
        if value.tzinfo is None:
            raise ValueError("naive timestamp")
        return value
    if tag == "u":
        return uuid.UUID(raw)
    if tag == "i":
        number = int(raw)
        if not -_INT32 <= number < _INT32:
            raise ValueError("integer out of range")
        return number
    if tag == "f":
        real = float(raw)
        if not math.isfinite(real):
            raise ValueError("not a finite number")
        return real
    if tag == "b":
        return bytes.fromhex(raw)
    if tag == "s" and text_problem(raw) is None:
        return raw
    raise ValueError(f"unknown cursor value {text[:20]!r}")


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([_tagged(v) for v in values])).decode().rstrip("=")


def read_cursor(cursor: str) -> list[Any]:
    """The values of a cursor we made, or `BadUserInput` naming `after` for anything else."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or not 1 <= len(values) <= 4:
            raise ValueError("not a list of values")
        if not all(isinstance(v, str) for v in values):
            raise ValueError("cursor values are strings")
        return [_untagged(v) for v in values]
    except ValueError as exc:
        raise bad_cursor() from exc


def cursor_values(cursor: str, kinds: Sequence[type]) -> list[Any]:
    """The values of a cursor of a list sorted by columns of `kinds` (e.g. `time_id`)."""
    values = read_cursor(cursor)
    if len(values) != len(kinds) or any(type(v) is not k for v, k in zip(values, kinds, strict=False)):
        raise bad_cursor()
    return values


@dataclass(frozen=True)
class PageRequest(Generic[N]):
    """What a caller asked of a list: up to `first` rows after the cursor `after`, each made a node by
    `to_node` (the resolver's GraphQL type). Service functions that list take one and hand it on."""

    first: int | None
    after: str | None
    to_node: Callable[[Any], N]


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
    page: PageRequest[N],
    max_page_size: int,
    cursor_kinds: Sequence[type],
    descending: bool = False,
) -> Connection[N]:
    """Keyset pagination over `sort_columns` (the last must be unique, e.g. the id), ascending or
    descending (newest first); `cursor_kinds` are the columns' Python types (e.g. `time_id`)."""
    size = check_page_size(page.first, max_page_size)
    after = page.after
    if after:
        values = cursor_values(after, cursor_kinds)
        position, bound = tuple_(*sort_columns), tuple_(*values)
        stmt = stmt.where(position < bound if descending else position > bound)
    order = [column.desc() for column in sort_columns] if descending else list(sort_columns)
    rows = (await session.scalars(stmt.order_by(*order).limit(size + 1))).all()
    has_next = len(rows) > size
    rows = rows[:size]
    edges = [
        Edge(cursor=encode_cursor([getattr(row, col.key) for col in sort_columns]), node=page.to_node(row))
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


async def paginate_by_time(
    runtime: DatabaseAccess,
    session: AsyncSession,
    stmt: Select,
    order: tuple[Any, Any],
    *,
    page: PageRequest[N],
    descending: bool = False,
) -> Connection[N]:
    """`paginate` over `order` (a timestamp column, then the id), oldest first (newest first when
    `descending`), at most the runtime's `graphql.max_page_size` a page: most of the platform's lists
    (members, invitations, tracks, audit entries, attempts, users, generation jobs, lab sessions)."""
    return await paginate(
        session,
        stmt,
        sort_columns=order,
        page=page,
        max_page_size=runtime.settings.graphql.max_page_size,
        cursor_kinds=time_id,
        descending=descending,
    )
