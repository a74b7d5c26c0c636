"""GraphQL IDs <-> UUIDs, the one place every domain converts them."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry

from subgraphs.core.errors import InvalidInput


def to_uuid(value: Any) -> uuid.UUID | None:
    """The UUID, or None for anything malformed (entity lookups answer null, never an error)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def parse_id(value: Any, field: str) -> uuid.UUID:
    """The UUID of an input field, or a validation error naming the field."""
    parsed = to_uuid(value)
    if parsed is None:
        raise InvalidInput({field: "Not a valid id."})
    return parsed


def parse_optional_id(value: Any, field: str) -> uuid.UUID | None:
    """None for an omitted optional id, else as `parse_id`."""
    return None if value is None else parse_id(value, field)


def to_id(value: Any) -> strawberry.ID:
    return strawberry.ID(str(value))
