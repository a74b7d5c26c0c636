"""Ordered parts of a whole (a course's modules, a module's lessons, a quiz's questions, a track's courses):
the ids a caller lists, and the position of a new part."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.core.errors import InvalidInput


def parse_ids(values: Sequence[Any], field: str) -> list[uuid.UUID]:
    """The ids a caller listed; InvalidInput at `<field>.<index>` for one that is no id."""
    ids = []
    for i, value in enumerate(values):
        try:
            ids.append(uuid.UUID(str(value)))
        except ValueError as exc:
            raise InvalidInput({f"{field}.{i}": "Not a valid id."}) from exc
    return ids


async def next_position(
    session: AsyncSession, position: Any, of_whole: ColumnElement[bool], *, most: int, field: str, full: str
) -> int:
    """The position after the last part (`position` column) of the whole selected by `of_whole`; 1 for the
    first. InvalidInput `full` at `field` when the whole already holds `most` parts."""
    count, last = (await session.execute(select(func.count(), func.max(position)).where(of_whole))).one()
    if count >= most:
        raise InvalidInput({field: full})
    return (last or 0) + 1
