"""The audit log: one consumer records every event of every domain's stream.

Authentication attempts (`users.auth.*`), authorization failures (`<domain>.authz.denied`, recorded by
core.schema for every subgraph), data changes and admin actions all travel as domain events already.
Delivery is at least once; the entry's primary key is the event id and the insert is
`ON CONFLICT DO NOTHING` in the transaction that writes it, so a redelivered event is recorded once.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.core.consumers import EVERY_STREAM, TransactionConsumer
from subgraphs.core.events import Event
from subgraphs.core.ids import to_uuid
from subgraphs.organizations.models import AuditLogEntry

# Payload keys never kept (at any depth), whatever the event.
SECRET_KEYS = frozenset(
    {"password", "password_hash", "token", "access_token", "refresh_token", "secret", "client_secret", "body"}
)


def redact(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload minus secrets. Events marked `sensitive` (mail: one-time links) keep nothing.

    The audit log records every event as JSON, also of types no contract describes yet (a domain newer
    than this worker), so it reads the payload's one wire-level marker, `sensitive`, without parsing."""
    if payload.get("sensitive") is True:
        return {}
    return _strip(payload)


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k.lower() not in SECRET_KEYS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _clip(value: str | None, length: int) -> str | None:
    return value[:length] if value else None


def entry_values(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "occurred_at": event.occurred_at,
        "actor_id": _clip(event.actor_id, 64),
        "organization_id": to_uuid(event.organization_id),
        "action": event.type[:120],
        "subject_ids": dict(event.subject_ids),
        "request_id": _clip(event.request_id, 128),
        "source_ip": _clip(event.source_ip, 64),
        "detail": redact(event.payload),
    }


async def record(session: AsyncSession, event: Event) -> bool:
    """Insert the entry unless this event id is already recorded; True when it was new."""
    stmt = insert(AuditLogEntry).values(**entry_values(event)).on_conflict_do_nothing(index_elements=["id"])
    result = await session.execute(stmt.returning(AuditLogEntry.id))
    return result.first() is not None


class AuditConsumer(TransactionConsumer):
    """Reads every domain's stream (group `audit`) into organizations.audit_log_entry."""

    group: ClassVar[str] = "audit"
    streams: ClassVar[tuple[str, ...]] = EVERY_STREAM

    async def apply(self, session: AsyncSession, event: Event) -> None:
        await record(session, event)
