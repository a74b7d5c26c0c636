"""Service tokens: how a domain's worker reads another domain's data through the router, as itself.

A worker (the content exports) asks the users subgraph's `POST /internal/service-token` for a short-lived
access token of an API-client kind (`sub` = `service:<name>`), bound to ONE organization and a few scopes
from `SERVICE_SCOPES`; it then queries the graph through the router like any integration, and every
subgraph applies its usual checks to that principal. The request is authenticated with a secret shared by
the platform's own processes (`auth.service_secret`; outside production a random key made once in the
data dir), compared in constant time; the route also sits behind the router's secret in production.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from pathlib import Path

import httpx

from subgraphs.core.local_secrets import configured_or_local_secret
from subgraphs.core.rbac import Permission
from subgraphs.core.settings import Settings

HEADER = "x-coursegraph-service-secret"
PATH = "/internal/service-token"
KEY_FILE = Path("keys") / "service-token.key"
# Reading a course for an export needs what its editors see (drafts, quiz answers): update_courses.
SERVICE_SCOPES: frozenset[str] = frozenset({Permission.VIEW_COURSES.value, Permission.UPDATE_COURSES.value})
SERVICES: frozenset[str] = frozenset({"content"})


def service_secret(settings: Settings) -> str:
    return configured_or_local_secret(
        settings, settings.auth.service_secret, env_var="COURSEGRAPH_AUTH__SERVICE_SECRET", key_file=KEY_FILE
    )


def authentic(settings: Settings, supplied: str | None) -> bool:
    expected = hashlib.sha256(service_secret(settings).encode()).digest()
    return hmac.compare_digest(expected, hashlib.sha256((supplied or "").encode()).digest())


def users_base_url(settings: Settings) -> str:
    return settings.subgraph_url("users").removesuffix("/graphql")


async def fetch_service_token(
    settings: Settings, *, service: str, organization_id: uuid.UUID, scopes: list[str]
) -> str:
    """A service access token from the users subgraph (raises httpx.HTTPStatusError when refused)."""
    headers = {HEADER: service_secret(settings)}
    if settings.router.shared_secret:
        headers["x-coursegraph-router-secret"] = settings.router.shared_secret
    async with httpx.AsyncClient(base_url=users_base_url(settings), timeout=15) as http:
        response = await http.post(
            PATH,
            json={"service": service, "organization_id": str(organization_id), "scopes": scopes},
            headers=headers,
        )
        response.raise_for_status()
        return response.json()["access_token"]
