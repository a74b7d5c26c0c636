"""What the resolvers of every `schema.py` share, so that each stays a thin line over the service: call a
service function for this request's caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry

from subgraphs.core.ids import parse_id

T = TypeVar("T")


async def call_service(
    info: strawberry.Info, action: Callable[..., Awaitable[T]], *args: Any, **arguments: Any
) -> T:
    """The service function `action` called for this request's caller, the way every service function is
    called: `action(runtime, meta, *args, **arguments)`."""
    return await action(info.context.runtime, info.context.meta, *args, **arguments)


async def call_with_input_id(
    info: strawberry.Info, action: Callable[..., Awaitable[T]], input: Any, **arguments: Any
) -> T:
    """The usual mutation of the one entity an input's `id` names: the service function `action` called as
    `action(runtime, meta, id=<input.id>, **arguments)` for this request's caller."""
    return await call_service(info, action, id=parse_id(input.id, "input.id"), **arguments)
