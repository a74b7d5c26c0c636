"""Rows that belong to someone (a lab session, a leased job): their owner sees them, and so does whoever
holds a permission in the row's organization. The one rule, as a check on a row and as a WHERE clause."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_, true

from subgraphs.core.rbac import Caller, Permission, organizations_permitting, permitted


async def owner_or_permitted(
    caller: Caller, owner: str, permission: Permission, organization_id: Any
) -> bool:
    """Whether the caller is `owner` (a principal's subject) or holds `permission` in `organization_id`."""
    principal = caller.principal
    if not principal.is_authenticated:
        return False
    if principal.subject == owner:
        return True
    return await permitted(caller, permission, organization_id)


async def owner_or_permitted_clause(
    caller: Caller, permission: Permission, *, mine: ColumnElement[bool], organization: Any
) -> ColumnElement[bool]:
    """`owner_or_permitted` as a WHERE clause: `mine` matches the caller's own rows, `organization` is the
    rows' organization column."""
    if not caller.principal.is_authenticated:
        return false()
    orgs = await organizations_permitting(caller, permission)
    if orgs.every:
        return true()
    return or_(mine, organization.in_(orgs.uuids()))
