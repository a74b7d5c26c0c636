"""API clients (OAuth2 client credentials for integrations): create, revoke, list, and the token endpoint."""

from __future__ import annotations

import hmac
import secrets
import uuid
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidScopeError
from sqlalchemy import select

from subgraphs.contracts import users as contract
from subgraphs.core.auth import REVOKED_CLIENT_KEY, require_user
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.db import utcnow
from subgraphs.core.errors import InvalidInput, NotFound
from subgraphs.core.events import emit
from subgraphs.core.rbac import GRANTABLE_SCOPES, Permission, authorize, permitted
from subgraphs.users.accounts import check_full_name, hit_rate_limit, signing_keys, user_event
from subgraphs.users.models import ApiClient, Outbox
from subgraphs.users.tokens import hash_token, issue_client_token

# Site admins, or admins of the client's organization (by membership: core.rbac.permitted).
MANAGE_CLIENTS = Permission.MANAGE_ORGANIZATION


async def create_api_client(
    runtime: Runtime, meta: RequestMeta, *, organization_id: uuid.UUID, name: str, scopes: list[str]
) -> tuple[ApiClient, str]:
    """Returns the client and its secret; the secret is shown once and only its hash is kept."""
    creator = require_user(meta.principal)
    await authorize(meta.caller, MANAGE_CLIENTS, organization_id)
    name = check_full_name(name, "input.name")
    unknown = sorted(set(scopes) - GRANTABLE_SCOPES)
    if unknown or not scopes:
        raise InvalidInput(
            {
                "input.scopes": f"Unknown scopes: {', '.join(unknown)}"
                if unknown
                else "Grant at least one scope."
            }
        )
    secret = secrets.token_urlsafe(32)
    client = ApiClient(
        client_id=f"cg_{secrets.token_hex(12)}",
        name=name,
        organization_id=organization_id,
        scopes=sorted(set(scopes)),
        secret_hash=hash_token(secret),
        created_by=creator,
    )
    async with runtime.transaction() as session:
        session.add(client)
        await session.flush()
        event = user_event(meta, contract.ApiClientCreated(client_id=client.client_id, scopes=client.scopes))
        event.organization_id = str(organization_id)
        emit(session, Outbox, event)
    return client, secret


async def revoke_api_client(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID) -> ApiClient:
    require_user(meta.principal)
    async with runtime.transaction() as session:
        client = await session.get(ApiClient, id, with_for_update=True)
        if client is None or not await permitted(meta.caller, MANAGE_CLIENTS, client.organization_id):
            raise NotFound("No such API client.")
        client.revoked_at = client.revoked_at or utcnow()
        event = user_event(meta, contract.ApiClientRevoked(client_id=client.client_id))
        event.organization_id = str(client.organization_id)
        emit(session, Outbox, event)
    # Tokens already issued to the client stop working now, not when they expire.
    await runtime.redis.set(
        REVOKED_CLIENT_KEY.format(client_id=client.client_id),
        1,
        ex=runtime.settings.auth.access_token_ttl_seconds,
    )
    return client


async def list_api_clients(
    runtime: Runtime, meta: RequestMeta, *, organization_id: uuid.UUID
) -> list[ApiClient]:
    require_user(meta.principal)
    await authorize(meta.caller, MANAGE_CLIENTS, organization_id)
    async with runtime.transaction() as session:
        stmt = (
            select(ApiClient)
            .where(ApiClient.organization_id == organization_id)
            .order_by(ApiClient.created_at)
        )
        return list((await session.scalars(stmt)).all())


async def client_credentials_token(
    runtime: Runtime, meta: RequestMeta, *, client_id: str, client_secret: str, scope: str | None
) -> dict[str, Any]:
    """The client-credentials grant: a scoped access token for an integration."""
    limits = runtime.settings.rate_limits
    client_bucket = f"oauth:client:{hash_token(client_id)}"
    # Per client AND source (wrong secrets sent from elsewhere do not lock the real client out), with a
    # slower per-client backstop.
    await hit_rate_limit(
        runtime,
        f"{client_bucket}:ip:{meta.client_ip}",
        limits.token_endpoint_per_client,
        limits.token_endpoint_per_client_window_seconds,
    )
    await hit_rate_limit(
        runtime,
        client_bucket,
        limits.token_endpoint_per_client_backstop,
        limits.token_endpoint_per_client_backstop_window_seconds,
    )
    async with runtime.transaction() as session:
        client = await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
        if (
            client is None
            or not hmac.compare_digest(client.secret_hash, hash_token(client_secret))
            or client.revoked_at is not None
        ):
            emit(session, Outbox, user_event(meta, contract.ApiClientAuthFailed(client_id=client_id)))
            client = None  # not authenticated: answered once the commit has recorded the failure
        else:
            requested = set(scope.split()) if scope else set(client.scopes)
            if not requested <= set(client.scopes):
                raise InvalidScopeError(
                    description="The requested scope exceeds what this client was granted."
                )
            client.last_used_at = utcnow()
            event = user_event(
                meta, contract.ApiClientTokenIssued(client_id=client_id, scopes=sorted(requested))
            )
            event.organization_id = str(client.organization_id)
            emit(session, Outbox, event)
    if client is None:
        raise InvalidClientError(description="Client authentication failed.", status_code=401)
    token = issue_client_token(
        signing_keys(runtime),
        runtime.settings,
        client_id=client_id,
        organization_id=client.organization_id,
        scopes=sorted(requested),
    )
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": runtime.settings.auth.access_token_ttl_seconds,
        "scope": " ".join(sorted(requested)),
    }
