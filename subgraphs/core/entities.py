"""GraphQL objects built from database rows."""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any, TypeVar

from subgraphs.core.ids import to_id

T = TypeVar("T")


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    # The fields a Strawberry type is built with (resolver fields are not among them).
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


def from_row(cls: type[T], row: Any, /, **values: Any) -> T:
    """`cls` built from an ORM row: `id` is the row's id as a GraphQL ID, a `_row` field holds the row, and
    every other field not given in `values` is the row's attribute of the same name."""

    def value(name: str) -> Any:
        if name == "id":
            return to_id(row.id)
        return row if name == "_row" else getattr(row, name)

    names = _field_names(cls)
    return cls(**{name: value(name) for name in names if name not in values}, **values)
