"""Pages of a list kept in time order: most of the platform's lists (members, invitations, tracks, audit
entries, attempts, users, generation jobs, lab sessions) page over (a timestamp column, the id), oldest or
newest first, within the platform's page size."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.core.context import DatabaseAccess
from subgraphs.core.pagination import Connection, PageRequest, paginate, time_id

N = TypeVar("N")


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
    `descending`), at most the runtime's `graphql.max_page_size` a page."""
    return await paginate(
        session,
        stmt,
        sort_columns=order,
        page=page,
        max_page_size=runtime.settings.graphql.max_page_size,
        cursor_kinds=time_id,
        descending=descending,
    )
