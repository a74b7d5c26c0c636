"""What the resolvers of every `schema.py` share, so that each stays a thin line over the service: the
router-side checks of a root field (`@authenticated`, its `@policy`, a connection's size) in one short
decorator, and the call of a service function for this request's caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import strawberry
from strawberry.federation.params import FederationFieldParams

from subgraphs.core.ids import parse_id
from subgraphs.core.pagination import SIZED_BY_FIRST

T = TypeVar("T")

# A `@policy`: the router lets a caller through who satisfies any one of the inner lists (core.rbac).
Policy = Sequence[Sequence[str]]


def _router_checks(policy: Policy | None) -> FederationFieldParams:
    """`@authenticated`, and `@policy` when there is one."""
    checks: FederationFieldParams = {"authenticated": True}
    if policy is not None:
        checks["policy"] = policy
    return checks


def authenticated_field(
    *, policy: Policy | None = None, description: str, directives: Sequence[object] = ()
) -> Any:
    """A root query field the router serves only to signed-in callers (`@authenticated`) who pass `policy`
    (`@policy`, when given). The service checks again: the router cannot see memberships."""
    return strawberry.federation.field(
        directives=directives, description=description, **_router_checks(policy)
    )


def paged_field(*, policy: Policy | None = None, description: str) -> Any:
    """An `authenticated_field` answering a Relay connection, sized by its `first` argument for the router's
    cost estimate (tests/core/test_schema_costs.py): no root list forgets its size."""
    return authenticated_field(policy=policy, description=description, directives=[SIZED_BY_FIRST])


def authenticated_mutation(*, policy: Policy | None = None, description: str | None = None) -> Any:
    """A mutation the router serves only to signed-in callers (`@authenticated`) who pass `policy`
    (`@policy`, when given); the service decides again."""
    return strawberry.federation.mutation(description=description, **_router_checks(policy))


def authenticated_subscription(*, description: str) -> Any:
    """A subscription for signed-in callers (`@authenticated`); its resolver checks what they may follow."""
    return strawberry.federation.field(is_subscription=True, authenticated=True, description=description)


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
