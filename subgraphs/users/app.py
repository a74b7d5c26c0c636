"""The users subgraph: GraphQL at /graphql, the JWKS, the OAuth2 token endpoint for integrations and the
web app's browser-session routes under /auth (subgraphs/users/browser.py)."""

from __future__ import annotations

import uuid
from typing import cast

from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error, UnsupportedGrantTypeError
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from subgraphs.core import service_tokens
from subgraphs.core.app import client_ip, create_subgraph_app
from subgraphs.core.auth import ANONYMOUS
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.errors import RateLimited
from subgraphs.core.rbac import Caller
from subgraphs.core.settings import Settings, get_settings
from subgraphs.users import api_clients, browser
from subgraphs.users.keys import SigningKeys
from subgraphs.users.loaders import build_loaders
from subgraphs.users.schema import schema
from subgraphs.users.tokens import issue_client_token


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    keys = SigningKeys(settings)

    async def on_startup(runtime: Runtime, app: FastAPI) -> None:
        runtime.extras["signing_keys"] = keys

    app = create_subgraph_app(
        "users",
        schema,
        build_loaders=build_loaders,
        on_startup=on_startup,
        key_loader_factory=lambda _settings: keys.get_public,  # verify locally, no HTTP to ourselves
        settings=settings,
    )
    app.include_router(browser.router)

    @app.get("/.well-known/jwks.json")
    async def jwks() -> JSONResponse:
        return JSONResponse(keys.public_jwks(), headers={"Cache-Control": "public, max-age=60"})

    @app.post("/oauth/token")
    async def token(request: Request) -> JSONResponse:
        """RFC 6749 §4.4 client-credentials grant; client auth by HTTP Basic or form fields."""
        runtime: Runtime = request.app.state.runtime
        form = await request.form()
        peer = request.client.host if request.client else None
        meta = RequestMeta(
            Caller.of(ANONYMOUS, runtime.redis),
            client_ip=client_ip(peer, request.headers.get("x-forwarded-for"), settings.trusted_proxies),
        )
        try:
            if form.get("grant_type") != "client_credentials":
                raise UnsupportedGrantTypeError(form.get("grant_type"))
            # authlib's stubs say dict; it only calls .get, which Headers answers case-insensitively.
            client_id, client_secret = extract_basic_authorization(cast(dict[str, str], request.headers))
            client_id = client_id or form.get("client_id")
            client_secret = client_secret or form.get("client_secret")
            scope = form.get("scope")
            if not client_id or not client_secret:
                raise InvalidRequestError(description="Client credentials are missing.")
            body = await api_clients.client_credentials_token(
                runtime,
                meta,
                client_id=str(client_id),
                client_secret=str(client_secret),
                scope=scope if isinstance(scope, str) else None,  # a form field may be a file
            )
        except OAuth2Error as error:
            headers = dict(error.get_headers())
            if error.error == "invalid_client":
                headers["WWW-Authenticate"] = 'Basic realm="coursegraph"'
            return JSONResponse(dict(error.get_body()), status_code=error.status_code, headers=headers)
        except RateLimited as error:
            return JSONResponse(
                {"error": "slow_down", "error_description": error.message},
                status_code=429,
                headers={"Retry-After": str(error.retry_after_seconds)},
            )
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @app.post(service_tokens.PATH)
    async def service_token(request: Request) -> JSONResponse:
        """A platform worker's token (core.service_tokens): one organization, service scopes only."""
        if not service_tokens.authentic(settings, request.headers.get(service_tokens.HEADER)):
            return JSONResponse({"error": "forbidden"}, status_code=403)
        body = await request.json()
        try:
            organization_id = uuid.UUID(str(body.get("organization_id")))
        except ValueError:
            return JSONResponse({"error": "organization_id is not an id"}, status_code=400)
        scopes = sorted({str(s) for s in body.get("scopes") or []})
        service_name = str(body.get("service"))
        if (
            service_name not in service_tokens.SERVICES
            or not scopes
            or not set(scopes) <= service_tokens.SERVICE_SCOPES
        ):
            return JSONResponse({"error": "unknown service or scopes"}, status_code=400)
        token = issue_client_token(
            keys,
            settings,
            client_id=f"service:{service_name}",
            organization_id=organization_id,
            scopes=scopes,
        )
        return JSONResponse(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": settings.auth.access_token_ttl_seconds,
            },
            headers={"Cache-Control": "no-store"},
        )

    return app


app = create_app()
