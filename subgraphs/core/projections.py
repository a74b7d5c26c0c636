"""Projections: a domain's own copy of another domain's data, kept from that domain's events.

Events may arrive late or twice; each projected row keeps the `as_of` (occurred_at) of the event it was
last written from, and an older event never overwrites a newer one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import Insert, insert


def upsert_if_newer(model: type[Any], keys: Sequence[str], **values: Any) -> Insert:
    """Insert the row `values` (which include `as_of`), or update the row with the same `keys` unless that
    row is newer."""
    stmt = insert(model).values(**values)
    return stmt.on_conflict_do_update(
        index_elements=[getattr(model, key) for key in keys],
        set_={name: stmt.excluded[name] for name in values if name not in keys},
        where=model.as_of <= stmt.excluded.as_of,
    )
