"""Test data for the users subgraph: signed-in users of any role, and bulk rows written straight to the db."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update

from subgraphs.users.models import Outbox, User
from tests.subgraphs.users.test_auth_flow import login, register_verified

# Bulk rows get a password hash no password matches: they exist to be listed, not to sign in.
UNUSABLE_HASH = "!unusable"


async def signed_in_as(gql, mailbox, runtime, email: str, role: str = "student") -> dict:
    """Register and verify `email`, give it `role` (directly in the db), sign in: the LoginSuccess."""
    await register_verified(gql, mailbox, email)
    if role != "student":
        async with runtime.transaction() as session:
            await session.execute(update(User).where(User.email == email).values(role=role))
    signed_in = await login(gql, email)
    assert signed_in["user"]["role"] == role.upper(), signed_in
    return signed_in


async def insert_users(
    runtime, tag: str, count: int, *, role: str = "student", active: bool = True
) -> list[str]:
    """`count` users whose name and email contain `tag`, made in one transaction; their ids in list order.

    One transaction means one `created_at` (PostgreSQL's now()), so the list orders them by id alone.
    """
    ids: list[str] = []
    async with runtime.transaction() as session:
        for i in range(count):
            user = User(
                email=f"{tag}-{i:03d}-{uuid.uuid4().hex[:6]}@bulk.coursegraph.dev",
                password_hash=UNUSABLE_HASH,
                full_name=f"Bulk {tag} {i:03d}",
                role=role,
                is_active=active,
                email_verified=True,
            )
            session.add(user)
            await session.flush()
            ids.append(str(user.id))
    return sorted(ids, key=uuid.UUID)


async def outbox_events(runtime, event_type: str, user_id: str) -> list[dict[str, Any]]:
    """Envelopes of `event_type` about `user_id`, oldest first."""
    async with runtime.transaction() as session:
        rows = await session.scalars(
            select(Outbox.event)
            .where(Outbox.type == event_type, Outbox.event["subject_ids"]["user_id"].astext == user_id)
            .order_by(Outbox.position)
        )
        return list(rows)
