"""Access-token verification into a `Principal`, and the permission classes resolvers use.

Tokens are EdDSA (Ed25519) JWTs with a `kid`; the algorithm is pinned, so `none`, HS256-with-the-public-
key and every other algorithm are refused. Public keys come from the users subgraph's JWKS; an unknown
`kid` triggers one rate-limited refresh, so a key rotation never logs anyone out.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import strawberry
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from strawberry.permission import BasePermission

from subgraphs.core.errors import Forbidden, NotAuthenticated
from subgraphs.core.rbac import PROJECTION_REBUILD_WAIT_SECONDS, SCHEMA_READ, Role
from subgraphs.core.redis_state import wait_for_marker
from subgraphs.core.settings import Settings

ALGORITHM = "EdDSA"
CLOCK_LEEWAY_SECONDS = 5
SESSION_KEY = "session:{sid}"
# Set when an API client is revoked, for as long as its access tokens could live.
REVOKED_CLIENT_KEY = "revoked-client:{client_id}"
# Present while those keys are complete; the users worker rebuilds them from PostgreSQL after a Redis loss.
REVOKED_CLIENTS_MARKER = "revoked-clients:complete"

# RFC 9864 renames EdDSA-with-Ed25519 to "Ed25519"; JWT libraries in the router and in clients still
# speak "EdDSA", so we keep it (pinned) and silence joserfc's deprecation notice.
warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=Warning)


class InvalidAccessToken(NotAuthenticated):
    default_code = "INVALID_TOKEN"
    default_message = "The access token is invalid or expired."


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user (with a session), an API client, or nobody."""

    subject: str | None = None
    kind: str = "anonymous"  # "user" | "client" | "anonymous"
    role: Role | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    session_id: str | None = None
    organization_ids: tuple[str, ...] = ()
    token_id: str | None = None
    # Users: the `ev` claim (email verified when the token was issued). Clients: False.
    email_verified: bool = False

    @property
    def is_authenticated(self) -> bool:
        return self.kind != "anonymous"

    @property
    def user_id(self) -> uuid.UUID | None:
        return uuid.UUID(self.subject) if self.kind == "user" and self.subject else None

    @property
    def is_site_admin(self) -> bool:
        return self.role is Role.SITE_ADMIN

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def can_read_schema(self) -> bool:
        return self.has_scope(SCHEMA_READ)


ANONYMOUS = Principal()

KeyLoader = Callable[[], Awaitable[KeySet]]


class JwksClient:
    """Caches the public key set; refreshes after `jwks_cache_seconds`, or early for an unknown kid."""

    def __init__(self, url: str, *, cache_seconds: float, min_refresh_interval: float) -> None:
        self._url = url
        self._cache_seconds = cache_seconds
        self._min_refresh_interval = min_refresh_interval
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self, *, kid: str | None = None) -> KeySet:
        now = time.monotonic()
        stale = self._keys is None or now - self._fetched_at > self._cache_seconds
        unknown = kid is not None and self._keys is not None and not _has_kid(self._keys, kid)
        if stale or (unknown and now - self._fetched_at > self._min_refresh_interval):
            async with self._lock:
                if self._keys is None or time.monotonic() - self._fetched_at > self._min_refresh_interval:
                    async with httpx.AsyncClient(timeout=5) as client:
                        response = await client.get(self._url)
                        response.raise_for_status()
                    self._keys = KeySet.import_key_set(response.json())
                    self._fetched_at = time.monotonic()
        assert self._keys is not None
        return self._keys


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys)


class TokenVerifier:
    """Verifies access tokens; a verified token is remembered (by its exact text) until it expires, so a
    client's next requests skip the signature check (~0.4 ms each). The remembered answer is the one the
    same text would get again: the claims are in the signed text, expiry is checked on every use, and
    the signing key must still be in the key set. Revocation (sessions, clients) is checked by the caller
    on every request, never remembered."""

    CACHE_SIZE = 10_000

    def __init__(self, settings: Settings, get_keys: Callable[..., Awaitable[KeySet]]) -> None:
        self._issuer = settings.auth.issuer
        self._audience = settings.auth.audience
        self._get_keys = get_keys
        self._verified: OrderedDict[str, tuple[Principal, str, float]] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        remembered = self._verified.get(token)
        if remembered is not None:
            principal, kid, expires_at = remembered
            alive = time.time() < expires_at + CLOCK_LEEWAY_SECONDS
            if alive and _has_kid(await self._get_keys(kid=kid), kid):
                return principal
            self._verified.pop(token, None)
        principal, kid, expires_at = await self._verify(token)
        self._verified[token] = (principal, kid, expires_at)
        if len(self._verified) > self.CACHE_SIZE:
            self._verified.popitem(last=False)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, str, float]:
        try:
            kid = _unverified_kid(token)
            keys = await self._get_keys(kid=kid)
            if not _has_kid(keys, kid):
                raise InvalidAccessToken()
            decoded = jwt.decode(token, keys, algorithms=[ALGORITHM])
            if decoded.header.get("alg") != ALGORITHM:
                raise InvalidAccessToken()
            jwt.JWTClaimsRegistry(
                leeway=CLOCK_LEEWAY_SECONDS,
                iss={"essential": True, "value": self._issuer},
                aud={"essential": True, "value": self._audience},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
            ).validate(decoded.claims)
            principal = principal_from_claims(decoded.claims)
            expires_at = float(decoded.claims["exp"])
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise InvalidAccessToken() from exc
        return principal, kid, expires_at


def _unverified_kid(token: str) -> str:
    header_b64 = token.split(".", 1)[0]
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
    if not isinstance(header, dict):
        raise InvalidAccessToken()
    kid = header.get("kid")
    if not isinstance(kid, str) or header.get("alg") != ALGORITHM:
        raise InvalidAccessToken()
    return kid


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    kind = "client" if claims.get("client_id") else "user"
    role = Role(claims["role"]) if kind == "user" else None
    return Principal(
        subject=str(claims["sub"]),
        kind=kind,
        role=role,
        scopes=frozenset(str(claims.get("scope", "")).split()),
        session_id=claims.get("sid"),
        organization_ids=tuple(claims.get("orgs") or ()),
        token_id=claims.get("jti"),
        email_verified=kind == "user" and claims.get("ev") is True,
    )


async def token_is_revoked(
    redis: Any, principal: Principal, *, exists: Callable[[str], Awaitable[bool]] | None = None
) -> bool:
    """A user token dies with its session (logout, refresh reuse, admin action); a client token with
    its client's revocation. `exists`: how to ask Redis whether the session key exists (open streams
    batch their re-checks: `live.BatchedExists`)."""
    if principal.kind == "client":
        key = REVOKED_CLIENT_KEY.format(client_id=principal.subject)
        async with redis.pipeline(transaction=False) as pipe:
            pipe.exists(key)
            pipe.exists(REVOKED_CLIENTS_MARKER)
            revoked, complete = await pipe.execute()
        if not complete:  # Redis lost the revocations: a revoked client must not come back meanwhile
            await wait_for_marker(redis, REVOKED_CLIENTS_MARKER, timeout=PROJECTION_REBUILD_WAIT_SECONDS)
            revoked = await redis.exists(key)
        return bool(revoked)
    # A session missing from Redis (ended, or lost with Redis) fails with INVALID_TOKEN; the client's
    # silent refresh then re-opens it if PostgreSQL says it is alive (users.sessions.refresh).
    if principal.session_id is None:
        return True
    key = SESSION_KEY.format(sid=principal.session_id)
    return not await (exists(key) if exists is not None else redis.exists(key))


# --- permission classes -------------------------------------------------------------------------


def _principal(info: strawberry.Info) -> Principal:
    return info.context.principal


class IsAuthenticated(BasePermission):
    message = NotAuthenticated.default_message
    error_extensions = {"code": NotAuthenticated.default_code}

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return _principal(info).is_authenticated


def require_user(principal: Principal) -> uuid.UUID:
    """The signed-in user's id, or a typed UNAUTHENTICATED error (API clients are not users)."""
    if principal.user_id is None:
        raise NotAuthenticated()
    return principal.user_id


def require_site_admin(principal: Principal, refusal: str) -> None:
    """A signed-in caller (NotAuthenticated otherwise) who is a site administrator (Forbidden with
    `refusal` otherwise): what platform-wide reads ask."""
    if not principal.is_authenticated:
        raise NotAuthenticated()
    if not principal.is_site_admin:
        raise Forbidden(refusal)
