"""Relay connections on relations (`Course.modules`, `User.enrollments`, ...), batched per parent.

`page_loader` answers the keys (parent key, first, after) of every parent in one tick with ONE statement per
distinct (first, after): a `row_number()` window partitioned by the parent key takes `first + 1` rows of
each parent (the extra one answers `hasNextPage`). Cursors carry the values of the sort columns, read from
the statement itself, so a sort column may be any SQL expression (a hash, a correlated subquery).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import strawberry
from sqlalchemy import and_, bindparam, func, select, tuple_
from sqlalchemy import inspect as sa_inspect
from strawberry.dataloader import DataLoader

from subgraphs.core.db import reads_as_row
from subgraphs.core.ids import to_uuid
from subgraphs.core.pagination import (
    SIZED_BY_FIRST,
    Connection,
    Edge,
    PageInfo,
    bytes_id,
    check_page_size,
    cursor_values,
    encode_cursor,
    int_id,
    time_id,
)
from subgraphs.core.rbac import Caller

__all__ = [
    "EMPTY_PAGE",
    "Page",
    "PageLoader",
    "bytes_id",
    "connection_field",
    "int_id",
    "newest_first",
    "oldest_first",
    "page_connection",
    "page_loader",
    "stub_connection",
    "stub_connection_field",
    "time_id",
]

Columns = Sequence[Any] | Callable[[], Awaitable[Sequence[Any]]]


@dataclass(frozen=True)
class Page:
    """One parent's page: up to size + 1 rows (the extra one only says there is more) and their cursors."""

    rows: list[Any]
    cursors: list[str]
    size: int
    after: str | None

    def connection(self, to_node: Callable[[Any], Any]) -> Connection:
        edges = [
            Edge(cursor=cursor, node=to_node(row))
            for row, cursor in zip(self.rows[: self.size], self.cursors, strict=False)
        ]
        return Connection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(self.rows) > self.size,
                has_previous_page=self.after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )


EMPTY_PAGE = Page(rows=[], cursors=[], size=0, after=None)

# Keys are (parent key, first, after): see `page_loader`.
PageLoader = DataLoader[tuple[Any, int | None, str | None], Page]


def connection_field(description: str) -> Any:
    """The field of a connection on one of this subgraph's types (`@connection_field("Oldest first.")`): sized
    by `first` for the router's cost estimate."""
    return strawberry.field(directives=[SIZED_BY_FIRST], description=description)


def stub_connection_field(description: str) -> Any:
    """The field of a connection this subgraph adds to another's entity (answered by `stub_connection`): for
    signed-in callers, sized by `first` for the router's cost estimate."""
    return strawberry.federation.field(
        directives=[SIZED_BY_FIRST], authenticated=True, description=description
    )


async def page_connection(
    loader: PageLoader,
    key: Any,
    first: int | None,
    after: str | None,
    to_node: Callable[[Any], Any],
) -> Connection:
    """The connection of one parent's relation, through its `page_loader`."""
    page = await loader.load((key, first, after))
    return page.connection(to_node)


async def stub_connection(
    info: Any,
    loader: PageLoader,
    stub_id: Any,
    first: int | None,
    after: str | None,
    to_node: Callable[[Any], Any],
    *,
    only_self: bool = False,
) -> Connection:
    """A connection this subgraph adds to another's entity (`Course.quizzes` on the Course stub): empty for
    a malformed id or an anonymous caller; with `only_self` (a User's own records) empty unless the caller
    is that user or a site admin. The loader's `where` decides what else the caller may see."""
    key = to_uuid(stub_id)
    principal = info.context.principal
    if only_self:
        allowed = principal.is_site_admin or principal.user_id == key
    else:
        allowed = principal.is_authenticated
    if key is None or not allowed:
        return EMPTY_PAGE.connection(to_node)
    return await page_connection(loader, key, first, after, to_node)


def page_loader(
    context: Any,
    key_column: Any,
    columns: Columns,
    *,
    kinds: Sequence[type] | None = None,
    where: Callable[[Caller], Awaitable[Any]] | None = None,
    descending: bool = False,
) -> PageLoader:
    """Pages of the rows of `key_column`'s entity, per parent key: keys are (parent key, first, after).
    `columns`: the sort (the last unique), or an async callable giving it per request, ascending unless
    `descending` (newest first); `kinds` are the sort columns' Python types (`time_id`, `int_id`,
    `bytes_id`), which a cursor must hold: by default those of the columns' SQL types (give them for SQL
    expressions); `where(caller)` adds a per-request predicate (what the caller may see, e.g. a service's
    `visible_clause`). `context` is the request Context (settings, transactions, the caller)."""
    max_size = context.runtime.settings.graphql.max_page_size
    # Rows: Core rows of the table where the model `reads_as_row` (the sort values follow its columns),
    # else ORM instances.
    as_row = reads_as_row(key_column.class_)
    width = len(sa_inspect(key_column.class_).local_table.c)
    if kinds is not None:
        cursor_kinds = list(kinds)
    elif callable(columns):
        raise TypeError("page_loader: a sort read per request needs its `kinds`")
    else:
        cursor_kinds = [column.type.python_type for column in columns]
    static = not callable(columns)

    async def load(keys: Sequence[tuple[Any, int | None, str | None]]) -> list[Page]:
        groups: dict[tuple[int, str | None], set[Any]] = defaultdict(set)
        for parent, first, after in keys:
            groups[(check_page_size(first, max_size), after)].add(parent)
        sort = list(await columns()) if callable(columns) else list(columns)
        extra = await where(context.caller) if where is not None else None
        found: dict[tuple[Any, int, str | None], tuple[list[Any], list[str]]] = {}
        async with context.read() as session:
            for (size, after), parents in groups.items():
                values = cursor_values(after, cursor_kinds) if after else None
                if static and extra is None:  # built once per process; parents, size, cursor bound
                    stmt = _bound_statement(key_column, tuple(sort), descending, values is not None)
                    params = {"parents": list(parents), "limit": size + 1}
                    params.update({f"after_{i}": v for i, v in enumerate(values or ())})
                else:
                    stmt = _statement(
                        key_column,
                        tuple(sort),
                        descending,
                        list(parents),
                        size + 1,
                        extra,
                        values,
                        fixed_sort=static,
                    )
                    params = {}
                grouped: dict[Any, tuple[list[Any], list[str]]] = defaultdict(lambda: ([], []))
                if as_row:
                    result = await (await session.connection()).execute(stmt, params)
                else:
                    result = await session.execute(stmt, params)
                for r in result.all():
                    row, values = (r, r[width:]) if as_row else (r[0], r[1:])
                    rows, cursors = grouped[getattr(row, key_column.key)]
                    rows.append(row)
                    cursors.append(encode_cursor(values))
                for parent in parents:
                    found[(parent, size, after)] = grouped.get(parent, ([], []))
        pages = []
        for parent, first, after in keys:
            size = check_page_size(first, max_size)
            rows, cursors = found[(parent, size, after)]
            pages.append(Page(rows=rows, cursors=cursors, size=size, after=after))
        return pages

    return DataLoader(load_fn=load, cache_key_fn=lambda key: key)


@lru_cache(maxsize=256)
def _window(key_column: Any, sort: tuple[Any, ...], descending: bool) -> list[Any]:
    """The columns of `page_loader`'s window: parent key, primary key and sort, labelled, and the rank.
    Only the key, primary key and sort columns: the rows are joined back by primary key (a subquery of
    the whole entity costs ~1 ms of Python per call to build its column collections). Kept per process
    for a fixed sort: labelling ORM columns anew costs Python on every page statement."""
    primary_key = sa_inspect(key_column.class_).primary_key
    order = [c.desc() for c in sort] if descending else list(sort)
    return [
        key_column.label("parent"),
        *(c.label(f"pk_{i}") for i, c in enumerate(primary_key)),
        *(c.label(f"sort_{i}") for i, c in enumerate(sort)),
        func.row_number().over(partition_by=key_column, order_by=order).label("rank"),
    ]


def _statement(
    key_column: Any,
    sort: tuple[Any, ...],
    descending: bool,
    parents: Any,
    limit: Any,
    extra: Any,
    after: Sequence[Any] | None,
    *,
    fixed_sort: bool,
) -> Any:
    """`page_loader`'s statement: the window over `parents` (with `extra`, after the cursor's `after`
    values) keeping `limit` rows per parent, joined back to the table's rows by primary key. `fixed_sort`:
    the sort columns are the same objects on every call (not built per request), so the window is kept."""
    model = key_column.class_
    table, primary_key = sa_inspect(model).local_table, sa_inspect(model).primary_key
    window = (_window if fixed_sort else _window.__wrapped__)(key_column, sort, descending)
    inner = select(*window).where(key_column.in_(parents))
    if extra is not None:
        inner = inner.where(extra)
    if after is not None:
        position, bound = tuple_(*sort), tuple_(*after)
        inner = inner.where(position < bound if descending else position > bound)
    sub = inner.subquery()
    return (
        select(table if reads_as_row(model) else model, *(sub.c[f"sort_{i}"] for i in range(len(sort))))
        .join(sub, and_(*(c == sub.c[f"pk_{i}"] for i, c in enumerate(primary_key))))
        .where(sub.c.rank <= limit)
        .order_by(sub.c.parent, sub.c.rank)
    )


@lru_cache(maxsize=256)
def _bound_statement(key_column: Any, sort: tuple[Any, ...], descending: bool, after: bool) -> Any:
    """`_statement` for a fixed sort and no per-caller predicate, built once per process with bound
    parameters (`parents`, `limit`, `after_<i>`): the statement object is reused, so neither its
    construction nor its cache key (SQLAlchemy memoizes it on the object) is paid per request."""
    bound = [bindparam(f"after_{i}", type_=c.type) for i, c in enumerate(sort)] if after else None
    parents = bindparam("parents", expanding=True)
    limit = bindparam("limit")
    return _statement(key_column, sort, descending, parents, limit, None, bound, fixed_sort=True)


def oldest_first(
    context: Any, key_column: Any, *, where: Callable[[Caller], Awaitable[Any]] | None = None
) -> PageLoader:
    """`page_loader` in order of creation, (created_at, id)."""
    model = key_column.class_
    return page_loader(context, key_column, (model.created_at, model.id), where=where)


def newest_first(
    context: Any, key_column: Any, *, where: Callable[[Caller], Awaitable[Any]] | None = None
) -> PageLoader:
    """`page_loader` in reverse order of creation, (created_at, id) descending."""
    model = key_column.class_
    return page_loader(context, key_column, (model.created_at, model.id), where=where, descending=True)
