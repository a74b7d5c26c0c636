"""Entity stubs: one subgraph's reference to an entity another subgraph owns (`User`, `Course`, ...)."""

from __future__ import annotations

from typing import Any

import strawberry

from subgraphs.core.ids import to_uuid


async def _stub_reference(cls: Any, info: strawberry.Info, id: strawberry.ID) -> Any:
    # A stub carries nothing but the id: any signed-in caller may reference one by a well-formed id. What is
    # behind it is authorized by the subgraph owning the entity, and by this subgraph's own fields on it.
    if to_uuid(id) is None or not info.context.principal.is_authenticated:
        return None
    return cls(id=id)


# `resolve_reference = stub_reference` in a stub type (Strawberry calls it once per representation).
stub_reference = classmethod(_stub_reference)
