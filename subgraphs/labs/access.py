"""Who sees a lab session: its owner, and whoever may view every lab of its organization."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import false

from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.errors import Forbidden, NotAuthenticated, NotFound
from subgraphs.core.ownership import owner_or_permitted, owner_or_permitted_clause
from subgraphs.core.rbac import Caller, Permission
from subgraphs.labs.models import LabSession

VIEW_ALL = Permission.VIEW_ALL_LABS  # organization admins (core/rbac.py); the owner always sees theirs


@dataclass(frozen=True, slots=True)
class Owner:
    """What `can_view` reads of a session: what an open stream of its events keeps (not the ORM row)."""

    user_id: uuid.UUID
    organization_id: uuid.UUID


def owner_of(row: LabSession) -> Owner:
    return Owner(user_id=row.user_id, organization_id=row.organization_id)


async def can_view(caller: Caller, row: LabSession | Owner) -> bool:
    return await owner_or_permitted(caller, str(row.user_id), VIEW_ALL, row.organization_id)


async def visible_clause(caller: Caller) -> Any:
    user_id = caller.principal.user_id  # API clients own no labs
    mine = LabSession.user_id == user_id if user_id else false()
    return await owner_or_permitted_clause(
        caller, VIEW_ALL, mine=mine, organization=LabSession.organization_id
    )


async def visible_session(runtime: Runtime, meta: RequestMeta, session_id: uuid.UUID) -> LabSession:
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    async with runtime.transaction() as session:
        row = await session.get(LabSession, session_id)
    if row is None or not await can_view(meta.caller, row):
        # Another tenant's session is as missing as one that does not exist.
        raise NotFound("No such lab session.")
    return row


async def owned_session(runtime: Runtime, meta: RequestMeta, session_id: uuid.UUID) -> LabSession:
    row = await visible_session(runtime, meta, session_id)
    if meta.principal.subject != str(row.user_id):
        raise Forbidden("Only the lab's owner may do this.")
    return row


async def get_session(runtime: Runtime, meta: RequestMeta, session_id: uuid.UUID) -> LabSession | None:
    try:
        return await visible_session(runtime, meta, session_id)
    except NotFound:
        return None
