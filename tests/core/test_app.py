"""The subgraph app's operational surface: health, readiness, metrics, request ids, error masking."""

from __future__ import annotations

import logging
import secrets

import httpx

from subgraphs.core.app import client_ip
from subgraphs.core.settings import get_settings
from subgraphs.users.app import create_app
from tests.conftest import production_settings
from tests.services import free_port


async def test_health_and_readiness(http):
    health = await http.get("/health")
    assert health.json() == {"status": "ok", "subgraph": "users"}
    ready = await http.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "postgres": "ok", "redis": "ok"}


async def test_readiness_fails_when_redis_is_unreachable():
    settings = get_settings().model_copy(deep=True)
    settings.redis.url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))
        async with httpx.AsyncClient(transport=transport, base_url="http://users.test") as client:
            response = await client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["postgres"] == "ok" and body["redis"].startswith("error")


async def test_metrics_count_graphql_requests(http, gql):
    await gql("{ me { id } }")
    await gql("{ nope }")
    text = (await http.get("/metrics")).text
    assert 'graphql_requests_total{outcome="ok",subgraph="users"}' in text
    assert 'graphql_requests_total{outcome="error",subgraph="users"}' in text
    assert "graphql_request_seconds_bucket" in text


async def _get(app, path: str, headers: dict | None = None) -> httpx.Response:
    """No lifespan: the routes asked for here touch neither the database nor Redis."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://users.test") as client:
        return await client.get(path, headers=headers or {})


async def test_metrics_need_the_token_when_one_is_set():
    token = secrets.token_urlsafe(32)
    app = create_app(get_settings().model_copy(update={"metrics_token": token}))
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {token}"}):
        refused = await _get(app, "/metrics", headers)
        assert refused.status_code == 401, (headers, refused.status_code)
        assert "graphql_requests_total" not in refused.text
    allowed = await _get(app, "/metrics", {"Authorization": f"Bearer {token}"})
    assert allowed.status_code == 200 and "graphql_request_seconds" in allowed.text


async def test_production_serves_no_metrics_without_a_token_and_no_openapi():
    settings = production_settings(secrets.token_urlsafe(32))
    app = create_app(settings)
    assert (await _get(app, "/metrics")).status_code == 404
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert (await _get(app, path)).status_code in (403, 404), path  # 403: RouterOnly, no secret
    with_token = create_app(settings.model_copy(update={"metrics_token": "t" * 32}))
    assert (await _get(with_token, "/metrics", {"Authorization": "Bearer " + "t" * 32})).status_code == 200


async def test_no_openapi_document_in_development():
    app = create_app(get_settings())
    assert not get_settings().is_production
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert (await _get(app, path)).status_code == 404, path


async def test_request_id_is_echoed_or_created(gql):
    given = await gql.raw("{ me { id } }", headers={"x-request-id": "abc123"})
    assert given.headers["x-request-id"] == "abc123"
    created = await gql.raw("{ me { id } }")
    assert len(created.headers["x-request-id"]) == 32


async def test_request_id_too_long_or_with_markup_is_replaced(gql):
    for bad in ("x" * 129, "<script>alert(1)</script>", "id with spaces"):
        response = await gql.raw("{ me { id } }", headers={"x-request-id": bad})
        echoed = response.headers["x-request-id"]
        assert echoed != bad and len(echoed) == 32 and echoed.isalnum(), (bad, echoed)
    at_limit = "a" * 128
    assert (await gql.raw("{ me { id } }", headers={"x-request-id": at_limit})).headers[
        "x-request-id"
    ] == at_limit


async def test_graphql_and_token_answers_are_never_stored(gql, http):
    answer = await gql.raw("{ me { id } }")
    refused = await http.post("/oauth/token", data={"grant_type": "client_credentials"})
    for response in (answer, refused):
        assert response.headers["cache-control"] == "no-store", response.request.url
        assert response.headers["x-content-type-options"] == "nosniff"


def test_client_ip_is_the_right_most_hop_not_ours():
    trusted = ["127.0.0.1", "10.0.0.0/8"]
    # The client sent "1.2.3.4" itself; our proxies appended what they saw (198.51.100.7, then 10.0.0.5).
    assert client_ip("127.0.0.1", "1.2.3.4, 198.51.100.7, 10.0.0.5", trusted) == "198.51.100.7"
    assert client_ip("127.0.0.1", "198.51.100.7", trusted) == "198.51.100.7"
    # An untrusted peer's header is ignored, and so is a hop that is no address.
    assert client_ip("203.0.113.9", "1.2.3.4", trusted) == "203.0.113.9"
    assert client_ip("127.0.0.1", "1.2.3.4, <b>", trusted) == "127.0.0.1"
    # Only our proxies on the way: the left-most hop started the request.
    assert client_ip("127.0.0.1", "10.1.1.1, 10.0.0.5", trusted) == "10.1.1.1"
    assert client_ip(None, None, trusted) == "unknown"


async def test_invalid_variables_are_bad_user_input_naming_the_variable(gql):
    body = (
        await gql.raw(
            "query($first: Int!) { users(first: $first) { edges { cursor } } }",
            variables={"first": "ten"},
        )
    ).json()
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "$first" in error["message"]


async def test_a_database_outage_is_a_typed_retryable_error_with_the_request_id(
    caplog, gql, mailbox, unique_email
):
    """A database outage mid-request: the client sees UNAVAILABLE (retryable, nothing of the cause) and
    the request id; the log has the real exception."""
    from tests.subgraphs.users.test_auth_flow import login, register_verified

    email = unique_email()
    await register_verified(gql, mailbox, email)
    token = (await login(gql, email))["accessToken"]

    settings = get_settings().model_copy(deep=True)
    settings.database.url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing"
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50002))
        async with httpx.AsyncClient(transport=transport, base_url="http://users.test") as client:
            with caplog.at_level(logging.WARNING, logger="coursegraph.errors"):
                response = await client.post(
                    "/graphql",
                    json={"query": "{ me { id email } }"},
                    headers={"Authorization": f"Bearer {token}", "x-request-id": "req-42"},
                )
    error = response.json()["errors"][0]
    assert error["message"] == "The service is recovering; try again in a moment."
    assert error["extensions"] == {"code": "UNAVAILABLE", "retryable": True, "requestId": "req-42"}
    assert "127.0.0.1" not in response.text and "postgres" not in response.text.lower()
    assert any(
        "req-42" in record.getMessage() and "Connect" in record.getMessage() for record in caplog.records
    )
