"""The lists of one organization that its members page through (members, invitations, tracks): the caller
holds a permission there, and the rows come a page at a time in the order of a timestamp, then the id."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select

from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.pagination import Connection, PageRequest, paginate_by_time
from subgraphs.core.rbac import Permission, authorize


async def organization_page(
    runtime: Runtime,
    meta: RequestMeta,
    permission: Permission,
    organization_id: uuid.UUID,
    stmt: Select,
    order: tuple[Any, Any],
    *,
    page: PageRequest,
    descending: bool = False,
) -> Connection:
    """A page of `stmt` (rows of the organization `organization_id`) over `order`, for a caller holding
    `permission` in that organization."""
    await authorize(meta.caller, permission, organization_id)
    async with runtime.transaction() as session:
        return await paginate_by_time(runtime, session, stmt, order, page=page, descending=descending)
