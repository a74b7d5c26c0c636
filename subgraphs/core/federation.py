"""Entities across subgraphs: stubs of the entities other subgraphs own (`User`, `Course`, ...), and the
common steps of resolving a reference to an entity this subgraph owns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from strawberry.dataloader import DataLoader

from subgraphs.core.errors import NotAuthenticated
from subgraphs.core.ids import parse_id, to_uuid

R = TypeVar("R")
T = TypeVar("T")

# Whether the caller of the request (`info`) may see a row.
Check = Callable[[strawberry.Info, Any], Awaitable[bool]]


async def _stub_reference(cls: Any, info: strawberry.Info, id: strawberry.ID) -> Any:
    # A stub carries nothing but the id: any signed-in caller may reference one by a well-formed id. What is
    # behind it is authorized by the subgraph owning the entity, and by this subgraph's own fields on it.
    if to_uuid(id) is None or not info.context.principal.is_authenticated:
        return None
    return cls(id=id)


# `resolve_reference = stub_reference` in a stub type (Strawberry calls it once per representation).
stub_reference = classmethod(_stub_reference)


@strawberry.type(name="EntityStub")  # only its subclasses are GraphQL types
class Stub:
    """An entity another subgraph owns, as this one sees it: its id. Subclass it with `@stub(...)`, adding
    the fields this subgraph contributes to the entity."""

    id: strawberry.ID

    resolve_reference = stub_reference


def stub(description: str, *, name: str | None = None) -> Callable[[type[T]], type[T]]:
    """The decorator of a `Stub` subclass: the entity's type, keyed by id."""
    return strawberry.federation.type(keys=["id"], name=name, description=description)


# The other subgraphs' entities, as their stubs describe them (each description said once).
PERSON = "A person (the users subgraph owns the profile)."
TENANT = "A tenant (the organizations subgraph owns it)."
COURSE = "A course (the courses subgraph owns it)."
GENERATION_JOB = "An AI generation job (the generator subgraph owns it)."


# The stubs a subgraph uses as they are (no fields of its own on them).
@stub(PERSON, name="User")
class UserStub(Stub):
    pass


@stub(TENANT, name="Organization")
class OrganizationStub(Stub):
    pass


@stub(COURSE, name="Course")
class CourseStub(Stub):
    pass


async def load_reference(info: strawberry.Info, loader: DataLoader[Any, R | None], id: Any) -> R | None:
    """What a signed-in caller references by a well-formed id, through the entity's by-id loader; None for
    anyone else, a malformed id or nothing there. The entity then checks that the caller may see it."""
    key = to_uuid(id)
    if key is None or not info.context.principal.is_authenticated:
        return None
    return await loader.load(key)


def owned_reference(loader: str, can_see: Check | None = None) -> Any:
    """`resolve_reference = owned_reference("quiz_by_id", can_see)` in an entity this subgraph owns: the row
    (`load_reference` through the request's loader of that name) as `cls.from_model(row)`, when `can_see(info,
    row)` (`_entities` bypasses Query's checks, so every entity checks here; without it, any signed-in caller
    may); None otherwise."""

    async def resolve(cls: Any, info: strawberry.Info, id: strawberry.ID) -> Any:
        row = await load_reference(info, getattr(info.context.loaders, loader), id)
        if row is None or (can_see is not None and not await can_see(info, row)):
            return None
        return cls.from_model(row)

    return classmethod(resolve)


def for_caller(check: Callable[[Any, Any], Awaitable[bool]]) -> Check:
    """A service's `can_view(caller, row)` as the check of `owned_reference`."""
    return lambda info, row: check(info.context.caller, row)


async def linked_row(
    info: strawberry.Info,
    link: DataLoader[Any, Any],
    rows: DataLoader[Any, R | None],
    stub_id: Any,
    can_see: Check,
) -> R | None:
    """The row of this subgraph that another subgraph's entity points at (`GenerationJob.appliedQuiz`): its
    id by the stub's id through `link`, then the row through `rows`; None when there is none or unless
    `can_see(info, row)`."""
    row_id = await load_reference(info, link, stub_id)
    row = await rows.load(row_id) if row_id else None
    if row is None or not await can_see(info, row):
        return None
    return row


async def lookup(info: strawberry.Info, entity: Any, id: strawberry.ID) -> Any:
    """`Query.<entity>(id)` answered as the entity's reference, so both see the same; unlike a reference
    (null), an anonymous caller is refused and a malformed id is named."""
    if not info.context.principal.is_authenticated:
        raise NotAuthenticated()
    return await entity.resolve_reference(info, strawberry.ID(str(parse_id(id, "id"))))
