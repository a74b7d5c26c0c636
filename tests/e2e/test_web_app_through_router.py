"""The web app's server side through the real router: browser sessions at /auth/* (HttpOnly refresh cookie)
and the single-page app served from CG_WEB_DIR with its security headers."""

from __future__ import annotations

import asyncio
import gzip
import shutil
import time
from datetime import UTC, datetime

import httpx
import pytest

from subgraphs.core.settings import get_settings
from subgraphs.users.tokens import hash_token
from tests.conftest import TEST_PASSWORD
from tests.subgraphs.users.test_auth_flow import ME, REGISTER

pytestmark = pytest.mark.e2e

CSRF = {"X-CourseGraph-CSRF": "1"}
COOKIE = "cg_refresh"


# --- browser sessions -----------------------------------------------------------------------------


async def post(http: httpx.AsyncClient, path: str, *, cookie: str | None = None, **kwargs) -> httpx.Response:
    """POST with exactly the cookie given (the client's own jar is emptied, so nothing rides along)."""
    http.cookies.clear()
    headers = {**CSRF, **kwargs.pop("headers", {})}
    if cookie is not None:
        headers["Cookie"] = f"{COOKIE}={cookie}"
    return await http.post(path, headers=headers, **kwargs)


def refresh_cookie(response: httpx.Response) -> dict[str, str]:
    """The one Set-Cookie of the answer, as {"value": ..., attribute (lower case): value or ""}."""
    cookies = response.headers.get_list("set-cookie")
    assert len(cookies) == 1, cookies
    first, *attributes = [part.strip() for part in cookies[0].split(";")]
    name, _, value = first.partition("=")
    assert name == COOKIE, cookies
    parsed = {"value": value}
    for attribute in attributes:
        key, _, val = attribute.partition("=")
        parsed[key.lower()] = val
    return parsed


def assert_cleared(response: httpx.Response) -> None:
    cookie = refresh_cookie(response)
    assert cookie["value"] == "" and cookie["max-age"] == "0" and cookie["path"] == "/auth", cookie


async def registered(router_gql, unique_email) -> str:
    email = unique_email("browser")
    body = await router_gql(REGISTER, {"input": {"email": email, "password": TEST_PASSWORD, "fullName": "B"}})
    assert body["data"]["register"]["__typename"] == "MessageSuccess", body
    return email


async def browser_login(router_http, email: str) -> tuple[str, str]:
    """(access token, refresh cookie value)"""
    response = await post(router_http, "/auth/login", json={"email": email, "password": TEST_PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()["accessToken"], refresh_cookie(response)["value"]


async def me(router_gql, token: str) -> dict:
    return await router_gql(ME, token=token)


async def test_login_sets_the_refresh_token_as_an_httponly_cookie_only(router_http, router_gql, unique_email):
    email = await registered(router_gql, unique_email)
    response = await post(router_http, "/auth/login", json={"email": email, "password": TEST_PASSWORD})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"accessToken", "expiresAt"}
    cookie = refresh_cookie(response)
    assert len(cookie["value"]) >= 40 and cookie["value"] not in response.text
    assert cookie["httponly"] == "" and cookie["samesite"] == "Strict" and cookie["path"] == "/auth"
    assert cookie["max-age"] == str(get_settings().auth.refresh_token_ttl_seconds)
    assert "secure" not in cookie  # Secure in production only (this is the test environment)
    expires_in = (datetime.fromisoformat(body["expiresAt"]) - datetime.now(UTC)).total_seconds()
    assert abs(expires_in - get_settings().auth.access_token_ttl_seconds) < 60, body
    assert (await me(router_gql, body["accessToken"]))["data"]["me"]["email"] == email


async def test_refresh_rotates_the_cookie_and_reuse_of_the_old_one_revokes_the_family(
    router_http, router_gql, unique_email
):
    email = await registered(router_gql, unique_email)
    _, first = await browser_login(router_http, email)

    rotated = await post(router_http, "/auth/refresh", cookie=first)
    assert rotated.status_code == 200, rotated.text
    assert rotated.headers["cache-control"] == "no-store"
    assert set(rotated.json()) == {"accessToken", "expiresAt"}
    second = refresh_cookie(rotated)["value"]
    assert second != first
    access = rotated.json()["accessToken"]
    assert (await me(router_gql, access))["data"]["me"]["email"] == email

    # The rotated cookie presented again (a stolen copy): refused, and the whole session ends.
    reused = await post(router_http, "/auth/refresh", cookie=first)
    assert reused.status_code == 401, reused.text
    error = reused.json()["error"]
    assert error["__typename"] == "InvalidTokenError" and error["code"] == "INVALID_TOKEN", error
    assert_cleared(reused)
    assert (await post(router_http, "/auth/refresh", cookie=second)).status_code == 401
    after = await me(router_gql, access)
    assert after["errors"][0]["extensions"]["code"] == "INVALID_TOKEN", after


async def test_refresh_without_a_cookie_is_refused_and_clears_it(router_http):
    response = await post(router_http, "/auth/refresh")
    assert response.status_code == 401
    assert response.json()["error"]["__typename"] == "InvalidTokenError"
    assert_cleared(response)
    unknown = await post(router_http, "/auth/refresh", cookie="not-a-token")
    assert unknown.status_code == 401 and unknown.json()["error"]["code"] == "INVALID_TOKEN"
    assert_cleared(unknown)


async def test_logout_ends_the_session_at_once_and_clears_the_cookie(router_http, router_gql, unique_email):
    email = await registered(router_gql, unique_email)
    access, cookie = await browser_login(router_http, email)
    other_access, _ = await browser_login(router_http, email)  # another browser of the same person

    response = await post(router_http, "/auth/logout", cookie=cookie)
    assert response.status_code == 204 and response.content == b""
    assert response.headers["cache-control"] == "no-store"
    assert_cleared(response)
    after = await me(router_gql, access)
    assert after["errors"][0]["extensions"]["code"] == "INVALID_TOKEN", after
    assert (await post(router_http, "/auth/refresh", cookie=cookie)).status_code == 401
    # Only that session ended.
    assert (await me(router_gql, other_access))["data"]["me"]["email"] == email


async def test_logout_of_all_sessions(router_http, router_gql, unique_email):
    email = await registered(router_gql, unique_email)
    _, cookie = await browser_login(router_http, email)
    other_access, _ = await browser_login(router_http, email)
    response = await post(router_http, "/auth/logout", cookie=cookie, json={"allSessions": True})
    assert response.status_code == 204
    after = await me(router_gql, other_access)
    assert after["errors"][0]["extensions"]["code"] == "INVALID_TOKEN", after


async def test_logout_without_a_valid_cookie_still_answers_204_and_clears_it(router_http):
    for cookie in (None, "not-a-token"):
        response = await post(router_http, "/auth/logout", cookie=cookie)
        assert response.status_code == 204
        assert_cleared(response)


async def test_session_routes_want_the_csrf_header_and_a_listed_origin(router_http, router_gql, unique_email):
    email = await registered(router_gql, unique_email)
    credentials = {"email": email, "password": TEST_PASSWORD}
    router_http.cookies.clear()
    for path in ("/auth/login", "/auth/refresh", "/auth/logout"):
        response = await router_http.post(path, json=credentials)
        assert response.status_code == 403, (path, response.text)
        error = response.json()["error"]
        assert error["__typename"] == "ForbiddenError" and error["code"] == "CSRF_CHECK_FAILED", error
        foreign = await post(router_http, path, json=credentials, headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 403, (path, foreign.text)
        assert "set-cookie" not in foreign.headers
    # The app's own origin (the router's, wherever it listens), and the listed ones, pass.
    for origin in (str(router_http.base_url).rstrip("/"), get_settings().router.cors_origins[-1]):
        allowed = await post(router_http, "/auth/login", json=credentials, headers={"Origin": origin})
        assert allowed.status_code == 200, (origin, allowed.text)
    lookalike = f"{str(router_http.base_url).rstrip('/')}.evil.example"
    assert (
        await post(router_http, "/auth/login", json=credentials, headers={"Origin": lookalike})
    ).status_code == 403


async def test_login_failures_are_typed_and_do_not_tell_which_accounts_exist(
    router_http, router_gql, unique_email, runtime
):
    email = await registered(router_gql, unique_email)
    wrong = await post(router_http, "/auth/login", json={"email": email, "password": "not the password"})
    unknown = await post(
        router_http, "/auth/login", json={"email": unique_email("nobody"), "password": TEST_PASSWORD}
    )
    for response in (wrong, unknown):
        assert response.status_code == 401, response.text
        assert "set-cookie" not in response.headers
    assert (
        wrong.json()
        == unknown.json()
        == {
            "error": {
                "__typename": "InvalidCredentialsError",
                "code": "INVALID_CREDENTIALS",
                "message": "The email or password is incorrect.",
            }
        }
    )

    invalid = await post(router_http, "/auth/login", json={"email": email})
    assert invalid.status_code == 400, invalid.text
    assert invalid.json()["error"] == {
        "__typename": "ValidationError",
        "code": "VALIDATION_FAILED",
        "message": "input.password: Required.",
        "fieldErrors": [{"field": "input.password", "message": "Required."}],
    }
    not_json = await post(
        router_http, "/auth/login", content=b"email=x", headers={"Content-Type": "text/plain"}
    )
    assert not_json.status_code == 400 and not_json.json()["error"]["__typename"] == "ValidationError"

    # The account's sign-in budget from this address used up (as five quick wrong passwords would under the
    # default limit); the router is the users subgraph's peer and forwards our loopback address.
    now_ms = int(time.time() * 1000)
    bucket = f"ratelimit:login:account:{hash_token(email)}:ip:127.0.0.1"
    limit = get_settings().rate_limits.login_per_account
    await runtime.redis.zadd(bucket, {f"{now_ms}-{n}": now_ms for n in range(limit)})
    await runtime.redis.pexpire(bucket, 60_000)
    limited = await post(router_http, "/auth/login", json={"email": email, "password": TEST_PASSWORD})
    assert limited.status_code == 429, limited.text
    error = limited.json()["error"]
    assert error["__typename"] == "RateLimitedError" and error["code"] == "RATE_LIMITED", error
    assert 0 < error["retryAfterSeconds"] <= 60
    assert limited.headers["retry-after"] == str(error["retryAfterSeconds"])


async def test_graphql_sign_in_still_answers_refresh_tokens_in_the_body(router_gql, unique_email):
    email = await registered(router_gql, unique_email)
    body = await router_gql(
        "mutation($i: LoginInput!) { login(input: $i) { ... on LoginSuccess { refreshToken } } }",
        {"i": {"email": email, "password": TEST_PASSWORD}},
    )
    assert len(body["data"]["login"]["refreshToken"]) >= 40, body


# --- the single-page app --------------------------------------------------------------------------

INDEX = b'<!doctype html><div id="root"></div><script type="module" src="/assets/index-3f2a1b.js"></script>\n'
SCRIPT = b"console.log('the app');\n" * 50
SECRET = b"outside the dist dir\n"


@pytest.fixture
def dist(platform):
    """A built app in the router's CG_WEB_DIR (so these tests never depend on web/ being built), and a file
    beside it that must never be served."""
    root = platform.web_dir
    shutil.rmtree(root, ignore_errors=True)
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_bytes(INDEX)
    (root / "assets" / "index-3f2a1b.js").write_bytes(SCRIPT)
    (root / "assets" / "index-3f2a1b.js.gz").write_bytes(gzip.compress(SCRIPT))
    (root / "favicon.svg").write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    (root.parent / "secret.txt").write_bytes(SECRET)
    yield root
    shutil.rmtree(root, ignore_errors=True)


HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def assert_app_headers(response: httpx.Response, router_url: str) -> None:
    policy = response.headers["content-security-policy"]
    ws = router_url.replace("http://", "ws://")
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        f"connect-src 'self' {ws}",
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ):
        assert directive in policy.split("; "), (directive, policy)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


async def test_client_side_routes_answer_the_app(router_http, platform, dist):
    for path in (
        "/",
        "/verify-email?token=abc",
        "/reset-password?token=abc",
        "/invitations/accept?token=abc&email=a%40b.dev",
        "/courses/5b0e/lessons/9",
        "/some/other/page",
    ):
        response = await router_http.get(path, headers=HTML)
        assert response.status_code == 200, (path, response.status_code)
        assert response.content == INDEX, path
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-cache"
        assert_app_headers(response, platform.router_url)
    head = await router_http.head("/courses/5b0e", headers=HTML)
    assert head.status_code == 200 and head.content == b""


async def test_built_files_are_served_and_hashed_assets_cached_forever(router_http, platform, dist):
    plain = await router_http.get("/assets/index-3f2a1b.js", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and plain.content == SCRIPT
    assert plain.headers["content-type"].startswith("text/javascript")
    assert plain.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "content-encoding" not in plain.headers
    assert_app_headers(plain, platform.router_url)

    zipped = await router_http.get("/assets/index-3f2a1b.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip" and zipped.content == SCRIPT  # decoded by httpx
    assert "Accept-Encoding" in zipped.headers["vary"]

    icon = await router_http.get("/favicon.svg")
    assert icon.headers["content-type"] == "image/svg+xml" and icon.headers["cache-control"] == "no-cache"


async def test_missing_assets_and_non_html_requests_are_404(router_http, dist):
    for path, headers in (
        ("/assets/index-000000.js", HTML),  # never the app in place of a script
        ("/assets/index-000000.js", {}),
        ("/courses/5b0e", {"Accept": "application/json"}),
    ):
        response = await router_http.get(path, headers=headers)
        assert response.status_code == 404, (path, headers, response.status_code)
        assert response.content != INDEX


async def test_nothing_outside_the_dist_dir_is_served(router_http, dist):
    assert (dist.parent / "secret.txt").read_bytes() == SECRET
    for path in (
        "/..%2fsecret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%5csecret.txt",
    ):
        for headers in ({}, HTML):
            response = await router_http.get(path, headers=headers)
            assert SECRET not in response.content, path
            assert response.status_code in (200, 404), (path, response.status_code)
            if response.status_code == 200:
                assert response.content == INDEX, path  # an HTML navigation to an odd path gets the app
    # `..` segments as sent on the wire (httpx would normalize them away before sending).
    url = httpx.URL(str(router_http.base_url))
    reader, writer = await asyncio.open_connection(url.host, url.port)
    writer.write(
        b"GET /assets/../../secret.txt HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    )
    await writer.drain()
    answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 404") and SECRET not in answer, answer[:200]


async def test_an_unbuilt_app_explains_how_to_build_it(router_http, platform, dist):
    shutil.rmtree(dist)
    response = await router_http.get("/", headers=HTML)
    assert response.status_code == 200
    assert "not built" in response.text and 'href="/graphql"' in response.text
    assert "npm run --prefix web build" in response.text
    assert_app_headers(response, platform.router_url)
    assert (await router_http.get("/assets/index-3f2a1b.js")).status_code == 404


async def test_graphql_graphiql_and_health_are_unchanged(router_http, dist):
    graphiql = await router_http.get("/graphql", headers=HTML)
    assert graphiql.status_code == 200 and "CourseGraph GraphiQL" in graphiql.text
    assert graphiql.content != INDEX
    api = await router_http.post("/graphql", json={"query": "{ __typename }"})
    assert api.json() == {"data": {"__typename": "Query"}}
    assert (await router_http.get("/healthcheck")).status_code == 200
    assert (await router_http.get("/readiness")).status_code == 200
    # /auth is the session API, never the app.
    assert (await router_http.get("/auth/login", headers=HTML)).status_code == 405
    assert (await router_http.get("/auth/other", headers=HTML)).status_code == 404
