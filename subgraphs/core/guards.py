"""The guard in front of most reads and changes of one row of an organization (a course, a quiz, a track):
the caller is signed in, the row exists, and the caller holds the permission in the row's organization."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.core.context import RequestMeta
from subgraphs.core.errors import NotAuthenticated, NotFound
from subgraphs.core.rbac import Permission, authorize

RowT = TypeVar("RowT")


async def authorized_row(
    meta: RequestMeta,
    session: AsyncSession,
    model: type[RowT],
    id: uuid.UUID,
    permission: Permission,
    *,
    missing: str,
    lock: bool = False,
) -> RowT:
    """The row `id` of `model` (which has an `organization_id`), row-locked when `lock` (the caller is about
    to change it), once the caller is known to hold `permission` in its organization. An anonymous caller
    is refused before anything is read; NotFound(`missing`) when there is no such row."""
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    row: Any = await session.get(model, id, with_for_update=lock)
    if row is None:
        raise NotFound(missing)
    await authorize(meta.caller, permission, row.organization_id)
    return row
