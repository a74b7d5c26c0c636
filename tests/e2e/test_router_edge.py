"""The HTTP edge through the real router (and the subgraphs behind it): CORS, response headers, request
bodies (size, slowness, nesting), suggestions and the cost limit (docs/security.md, "Edge: router and
HTTP")."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
import pytest

from tests import raw_http
from tests.e2e.helpers import signed_in_student

pytestmark = pytest.mark.e2e

TYPENAME = {"query": "{ __typename }"}


# --- CORS ------------------------------------------------------------------------------------------


async def test_cors_headers_only_for_listed_origins(router_http, settings):
    listed = settings.router.cors_origins[0]
    for origin in ("null", "https://evil.example", "http://127.0.0.1:4000.evil.example"):
        post = await router_http.post("/graphql", json=TYPENAME, headers={"Origin": origin})
        preflight = await router_http.options(
            "/graphql",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        for response in (post, preflight):
            leaked = [name for name in response.headers if name.lower().startswith("access-control-")]
            assert not leaked, (origin, response.request.method, leaked)
    allowed = await router_http.post("/graphql", json=TYPENAME, headers={"Origin": listed})
    assert allowed.headers["access-control-allow-origin"] == listed
    assert allowed.headers["access-control-allow-credentials"] == "true"


# --- response headers ------------------------------------------------------------------------------


async def test_graphql_responses_are_not_stored_sniffed_or_framed(router_http):
    response = await router_http.post("/graphql", json=TYPENAME)
    assert response.status_code == 200
    headers = response.headers
    assert headers["cache-control"] == "no-store"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


async def test_graphiql_page_allows_exactly_its_own_inline_scripts(router_http):
    """The page's CSP names the hash of every inline script the page has and nothing else runs inline
    (test_graphiql_in_browser.py runs the page under this policy in Chromium)."""
    page = await router_http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = dict(
        (directive.split(" ", 1) + [""])[:2]
        for directive in page.headers["content-security-policy"].split("; ")
    )
    assert policy["frame-ancestors"] == "'none'" and policy["default-src"] == "'none'"
    allowed = set(policy["script-src"].split())
    assert "'unsafe-inline'" not in allowed and "'unsafe-eval'" not in allowed
    scripts = re.findall(r"<script(?:\s[^>]*)?>([\s\S]*?)</script>", page.text)
    assert scripts, "GraphiQL is inline: the page has scripts"
    hashes = {f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in scripts}
    assert hashes == allowed
    assert page.headers["cache-control"] == "no-store" and page.headers["x-content-type-options"] == "nosniff"


# --- request bodies --------------------------------------------------------------------------------


def nested_request(depth: int) -> bytes:
    inner = "[" * (depth - 2) + "]" * (depth - 2)
    return f'{{"query": "{{ __typename }}", "variables": {{"a": {inner}}}}}'.encode()


async def test_router_and_subgraphs_refuse_large_and_deeply_nested_bodies(platform, router_http, settings):
    limits = settings.graphql
    padded = b'{"query": "{ __typename }"' + b" " * (limits.max_body_bytes + 1) + b"}"
    pieces = [padded[start : start + 65536] for start in range(0, len(padded), 65536)]
    json_type = {"Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=platform.subgraph_urls["courses"], timeout=30) as subgraph:
        for side, client in (("router", router_http), ("subgraph", subgraph)):
            url = str(client.base_url).rstrip("/")
            declared = await raw_http.post(
                url, "/graphql", {**json_type, "Content-Length": str(len(padded))}, pieces
            )
            # No Content-Length: counted while it arrives.
            streamed = await raw_http.post(
                url, "/graphql", {**json_type, "Transfer-Encoding": "chunked"}, raw_http.chunked(pieces)
            )
            for answer in (declared, streamed):
                assert raw_http.status_of(answer) == 413, (side, answer[:300])
                assert b"PAYLOAD_TOO_LARGE" in answer, side
            deep = await client.post("/graphql", content=nested_request(2000), headers=json_type)
            assert deep.status_code == 400, (side, deep.status_code, deep.text[:300])
            assert deep.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
            fits = await client.post(
                "/graphql", content=nested_request(limits.max_json_depth), headers=json_type
            )
            assert fits.status_code == 200, (side, fits.text[:300])


async def test_router_cuts_off_a_slow_body(platform, settings):
    """One byte every 0.5 s of a 100-byte body would take 50 s: the router answers 408 once the body
    timeout has passed and closes the connection (raw_http.post returns only once it is closed)."""
    body = b'{"query": "{ __typename }"}'.ljust(100)
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    timeout = settings.graphql.body_timeout_seconds + 20
    answer = await raw_http.post(
        platform.router_url, "/graphql", headers, [bytes([b]) for b in body], pace=0.5, timeout=timeout
    )
    assert raw_http.status_of(answer) == 408, answer[:200]
    assert b"REQUEST_TIMEOUT" in answer


# --- suggestions -----------------------------------------------------------------------------------


async def test_no_enum_value_suggestions_at_the_router_or_the_subgraphs(platform, router_gql, unique_email):
    token = await signed_in_student(router_gql, unique_email)
    literal = "{ courses(orderBy: NEWESTT) { nodes { id } } }"
    variable = "query($o: CourseOrder!) { courses(orderBy: $o) { nodes { id } } }"
    async with httpx.AsyncClient(base_url=platform.subgraph_urls["courses"], timeout=30) as subgraph:
        for side, client in (("router", router_gql.http), ("subgraph", subgraph)):
            for query, variables in ((literal, {}), (variable, {"o": "NEWESTT"})):
                response = await client.post(
                    "/graphql",
                    json={"query": query, "variables": variables},
                    headers={"Authorization": f"Bearer {token}"},
                )
                errors = response.json()["errors"]
                messages = " ".join(error["message"] for error in errors)
                assert "NEWESTT" in messages, (side, messages)  # the refusal names what was wrong
                assert "Did you mean" not in messages, (side, messages)
                assert "'NEWEST'" not in messages and '"NEWEST"' not in messages, (side, messages)


# --- cost ------------------------------------------------------------------------------------------

NESTED = (
    "courses(first: 100) { nodes { modules(first: 100) { nodes { lessons(first: 100) { nodes { id } } } } } }"
)


async def test_cost_limit_refuses_nested_connections(router_gql, unique_email, settings):
    """15 aliases of 100 × 100 × 100 nodes: estimated from the schema's @listSize and refused before any
    subgraph runs it. The product's own heaviest query (the student dashboard of
    test_courses_through_router, 50 enrollments deep into lessons and quiz attempts) stays under the limit."""
    token = await signed_in_student(router_gql, unique_email)
    auth = {"Authorization": f"Bearer {token}"}
    attack = "{ " + " ".join(f"c{i}: {NESTED}" for i in range(settings.graphql.max_aliases)) + " }"
    body = (await router_gql.http.post("/graphql", json={"query": attack}, headers=auth)).json()
    codes = [error["extensions"]["code"] for error in body["errors"]]
    assert "COST_ESTIMATED_TOO_EXPENSIVE" in codes, body["errors"][:2]
    assert not any((body.get("data") or {}).values()), body.get("data")

    # An explicit null `first` cannot slip under the estimate (it would count as one node).
    nulled = (
        await router_gql.http.post(
            "/graphql", json={"query": "{ courses(first: null) { nodes { id } } }"}, headers=auth
        )
    ).json()
    assert nulled["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", nulled

    one_level = (
        await router_gql.http.post(
            "/graphql", json={"query": "{ courses(first: 100) { nodes { id } } }"}, headers=auth
        )
    ).json()
    assert "errors" not in one_level, one_level
