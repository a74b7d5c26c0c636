"""Platform roles, the permission map of the original design, and `authorize` (every subgraph's check).

Token scopes are these permission values; user tokens carry their role's permissions, API clients the
scopes an admin granted. Inside an organization a user's permissions come from their MEMBERSHIP role
there, read from a Redis projection the organizations domain keeps (`authz:memberships:<user_id>` =
{organization id: membership role}); token claims never decide a user's access to an organization.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis

from subgraphs.core.errors import Forbidden, NotAuthenticated
from subgraphs.core.redis_state import wait_for_marker

if TYPE_CHECKING:
    from subgraphs.core.auth import Principal

SCHEMA_READ = "schema:read"  # GraphiQL / introspection in production


class Role(StrEnum):
    STUDENT = "student"
    INSTRUCTOR = "instructor"
    ORGANIZATION_ADMIN = "organization_admin"
    SITE_ADMIN = "site_admin"


class Permission(StrEnum):
    VIEW_USERS = "view_users"
    CREATE_USERS = "create_users"
    UPDATE_USERS = "update_users"
    DELETE_USERS = "delete_users"
    VIEW_COURSES = "view_courses"
    CREATE_COURSES = "create_courses"
    UPDATE_COURSES = "update_courses"
    PUBLISH_COURSES = "publish_courses"
    CREATE_LABS = "create_labs"
    VIEW_ALL_LABS = "view_all_labs"
    MANAGE_LABS = "manage_labs"
    VIEW_ANALYTICS = "view_analytics"
    VIEW_ALL_ANALYTICS = "view_all_analytics"
    MANAGE_ORGANIZATION = "manage_organization"
    VIEW_AUDIT_LOGS = "view_audit_logs"


_STUDENT = {Permission.VIEW_COURSES, Permission.VIEW_ANALYTICS}
_INSTRUCTOR = _STUDENT | {
    Permission.CREATE_COURSES,
    Permission.UPDATE_COURSES,
    Permission.PUBLISH_COURSES,
    Permission.CREATE_LABS,
    # Not in the original design's map, which predates instructor lab oversight: instructors see (not
    # manage) their organization's labs and follow their events, as the labs issue asks.
    Permission.VIEW_ALL_LABS,
    Permission.VIEW_ALL_ANALYTICS,
}
_ORG_ADMIN = _INSTRUCTOR | {
    Permission.VIEW_USERS,
    Permission.CREATE_USERS,
    Permission.UPDATE_USERS,
    Permission.MANAGE_ORGANIZATION,
    Permission.VIEW_AUDIT_LOGS,
    Permission.VIEW_ALL_LABS,
    Permission.MANAGE_LABS,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.STUDENT: frozenset(_STUDENT),
    Role.INSTRUCTOR: frozenset(_INSTRUCTOR),
    Role.ORGANIZATION_ADMIN: frozenset(_ORG_ADMIN),
    Role.SITE_ADMIN: frozenset(Permission),
}

# Every scope an API client may be granted.
GRANTABLE_SCOPES: frozenset[str] = frozenset({*(p.value for p in Permission), SCHEMA_READ})


def scopes_for_role(role: Role) -> list[str]:
    scopes = sorted(p.value for p in ROLE_PERMISSIONS[role])
    if role is not Role.STUDENT:
        scopes.append(SCHEMA_READ)
    return scopes


# --- authorization inside organizations ------------------------------------------------------------

# The projection of one user's memberships: a hash {organization id: membership role value}. Written only
# by the organizations domain (after each committed change, and by its worker consumer); read by all.
MEMBERSHIPS_KEY = "authz:memberships:{user_id}"
# Present while the projection is complete (core/redis_state.py): Redis restarted empty or flushed loses it,
# and the organizations worker rebuilds the projection from PostgreSQL, then sets it again. Without it a
# missing hash could be a lost one: readers wait for the rebuild instead of deciding on it.
MEMBERSHIPS_MARKER = "authz:projection:complete"
# How long a reader waits for that rebuild before refusing with a retryable UNAVAILABLE error.
PROJECTION_REBUILD_WAIT_SECONDS = 3.0
MEMBERSHIP_ROLES: tuple[Role, ...] = (Role.STUDENT, Role.INSTRUCTOR, Role.ORGANIZATION_ADMIN)
# A long-lived context (a WebSocket connection) re-reads a user's memberships after this many seconds.
MEMBERSHIP_CACHE_SECONDS = 5.0


class AccessDenied(Forbidden):
    """Refused by `authorize`: names the organization and permission (the audit log records both)."""

    def __init__(
        self, permission: Permission, organization_id: str | None, message: str | None = None
    ) -> None:
        self.permission = permission
        self.organization_id = organization_id
        super().__init__(message)


class Memberships:
    """Reads the membership projection; caches each user's hash for one request (one HGETALL per user).

    Concurrent first reads of one user (Strawberry resolves sibling fields concurrently) share one HGETALL:
    otherwise each would go to Redis, and statement/round-trip counts would vary with timing."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._cache: dict[str, tuple[float, dict[str, Role]]] = {}
        self._loading: dict[str, asyncio.Future[dict[str, Role]]] = {}

    async def of(self, user_id: str | uuid.UUID) -> dict[str, Role]:
        key = str(user_id)
        cached = self._cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < MEMBERSHIP_CACHE_SECONDS:
            return cached[1]
        loading = self._loading.get(key)
        if loading is None:
            loading = asyncio.ensure_future(self._load(key))
            self._loading[key] = loading
            loading.add_done_callback(lambda _: self._loading.pop(key, None))
        # Shielded: one cancelled caller must not cancel the read the others wait for.
        return await asyncio.shield(loading)

    async def _load(self, key: str) -> dict[str, Role]:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(MEMBERSHIPS_KEY.format(user_id=key))
            pipe.exists(MEMBERSHIPS_MARKER)
            raw, complete = await pipe.execute()
        if not complete:  # Redis lost the projection: never decide on what may be missing
            await wait_for_marker(self.redis, MEMBERSHIPS_MARKER, timeout=PROJECTION_REBUILD_WAIT_SECONDS)
            raw = await self.redis.hgetall(MEMBERSHIPS_KEY.format(user_id=key))
        roles = {_text(org): Role(_text(role)) for org, role in raw.items()}
        self._cache[key] = (time.monotonic(), roles)
        return roles

    def forget(self, user_id: str | uuid.UUID) -> None:
        """Drop the cached hash (the caller just changed this user's memberships)."""
        self._cache.pop(str(user_id), None)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True)
class Caller:
    """Who is asking, with the reader of their memberships: what every authorization decision needs.

    Built once per request (Context), so a request reads each user's memberships once; a worker or a
    service call outside any request builds its own with `of`."""

    principal: Principal
    memberships: Memberships = field(compare=False)

    @classmethod
    def of(cls, principal: Principal, redis: Redis) -> Caller:
        return cls(principal, Memberships(redis))


async def permitted(caller: Caller, permission: Permission, organization_id: Any) -> bool:
    """Whether the caller holds `permission` in the organization.

    Site admins hold every permission everywhere. An API client needs the permission among its token's
    scopes AND to be bound to that organization. A user holds what the role of their membership in that
    organization grants, and nothing there without a membership, whatever their platform role.
    """
    principal = caller.principal
    if not principal.is_authenticated:
        return False
    if principal.is_site_admin:
        return True
    org = str(organization_id)
    if principal.kind == "client":
        return principal.has_scope(permission.value) and org in principal.organization_ids
    if principal.kind != "user" or principal.subject is None:
        return False
    role = (await caller.memberships.of(principal.subject)).get(org)
    return role is not None and permission in ROLE_PERMISSIONS[role]


async def authorize(caller: Caller, permission: Permission, organization_id: Any) -> None:
    """Raise NotAuthenticated (anonymous) or AccessDenied unless `permitted(...)`. Every subgraph calls this
    for organization data."""
    if not caller.principal.is_authenticated:
        raise NotAuthenticated()
    if not await permitted(caller, permission, organization_id):
        raise AccessDenied(permission, None if organization_id is None else str(organization_id))


@dataclass(frozen=True)
class PermittedOrganizations:
    """Where a principal holds a permission: every organization (site admins) or these ids. For filters."""

    every: bool
    ids: frozenset[str]

    def __contains__(self, organization_id: object) -> bool:
        return self.every or str(organization_id) in self.ids

    def uuids(self) -> list[uuid.UUID]:
        return [uuid.UUID(i) for i in sorted(self.ids)]


async def organizations_permitting(caller: Caller, permission: Permission) -> PermittedOrganizations:
    """The organizations where the caller holds `permission` (for `WHERE organization_id IN (...)`)."""
    principal = caller.principal
    if principal.is_site_admin:
        return PermittedOrganizations(every=True, ids=frozenset())
    if principal.kind == "client":
        ids = frozenset(principal.organization_ids) if principal.has_scope(permission.value) else frozenset()
        return PermittedOrganizations(every=False, ids=ids)
    if principal.kind != "user" or principal.subject is None:
        return PermittedOrganizations(every=False, ids=frozenset())
    roles = await caller.memberships.of(principal.subject)
    return PermittedOrganizations(
        every=False, ids=frozenset(org for org, role in roles.items() if permission in ROLE_PERMISSIONS[role])
    )


def member_or_scope_policy(permission: Permission) -> list[list[str]]:
    """The router-side half of `authorize` for an organization field, as a `@policy`.

    The router cannot see memberships, so for users it checks only that the caller is a user (any platform
    role: the subgraph decides by membership); an API client must hold the scope. Token scopes of users come
    from their PLATFORM role, so `@requiresScopes` would wrongly refuse, say, a student-role user who
    administers an organization they created.
    """
    return [*([f"role:{role.value}"] for role in Role), [f"scope:{permission.value}"]]


USER_POLICY: list[list[str]] = [[f"role:{role.value}"] for role in Role]  # any signed-in user, no API clients
