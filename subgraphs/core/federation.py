"""Entities across subgraphs: stubs of the entities other subgraphs own (`User`, `Course`, ...), and the
common first steps of resolving a reference to an entity this subgraph owns."""

from __future__ import annotations

from typing import Any, TypeVar

import strawberry
from strawberry.dataloader import DataLoader

from subgraphs.core.errors import NotAuthenticated
from subgraphs.core.ids import parse_id, to_uuid

R = TypeVar("R")


async def _stub_reference(cls: Any, info: strawberry.Info, id: strawberry.ID) -> Any:
    # A stub carries nothing but the id: any signed-in caller may reference one by a well-formed id. What is
    # behind it is authorized by the subgraph owning the entity, and by this subgraph's own fields on it.
    if to_uuid(id) is None or not info.context.principal.is_authenticated:
        return None
    return cls(id=id)


# `resolve_reference = stub_reference` in a stub type (Strawberry calls it once per representation).
stub_reference = classmethod(_stub_reference)


async def load_reference(info: strawberry.Info, loader: DataLoader[Any, R | None], id: Any) -> R | None:
    """What a signed-in caller references by a well-formed id, through the entity's by-id loader; None for
    anyone else, a malformed id or nothing there. The entity then checks that the caller may see it."""
    key = to_uuid(id)
    if key is None or not info.context.principal.is_authenticated:
        return None
    return await loader.load(key)


async def lookup(info: strawberry.Info, entity: Any, id: strawberry.ID) -> Any:
    """`Query.<entity>(id)` answered as the entity's reference, so both see the same; unlike a reference
    (null), an anonymous caller is refused and a malformed id is named."""
    if not info.context.principal.is_authenticated:
        raise NotAuthenticated()
    return await entity.resolve_reference(info, strawberry.ID(str(parse_id(id, "id"))))
