"""GraphQL-level protections of the users subgraph: limits, suggestions, transport rules, error shape,
introspection, and production's router-only rule."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from subgraphs.users.models import User
from tests.conftest import TEST_PASSWORD, GraphQLClient, production_settings
from tests.subgraphs.users.factories import signed_in_as

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")

ROUTER_SECRET_HEADER = "x-coursegraph-router-secret"
INTROSPECT = "{ __schema { types { name } } }"


def error_messages(body: dict) -> list[str]:
    return [error["message"] for error in body.get("errors") or []]


def nested(depth: int, root: str = "me") -> str:
    """An operation of the given depth, counted as the depth limiter does (graphql-depth-limit): root fields
    are depth 0, so `{ me { id } }` is depth 1 and depth d has d + 1 nested fields. Names below `me` need
    not exist: the depth rule runs on the document."""
    names = [root] + [f"f{level}" for level in range(1, depth + 1)]
    document = names[-1]
    for name in reversed(names[:-1]):
        document = f"{name} {{ {document} }}"
    return "{ " + document + " }"


# --- limits -----------------------------------------------------------------------------------------


async def test_depth_limit_rejects_eleven_levels(gql):
    body = await gql(nested(11))
    assert body["data"] is None
    assert any("exceeds maximum operation depth of 10" in m for m in error_messages(body)), body


async def test_depth_limit_allows_ten_levels(gql):
    body = await gql(nested(10))
    # Rejected for its unknown fields (so validation did run), but not for its depth.
    assert any("Cannot query field 'f1'" in m for m in error_messages(body)), body
    assert not any("depth" in m for m in error_messages(body)), body


async def test_depth_limit_counts_through_fragments(gql):
    # `me` (0) -> fragment spread (adds nothing) -> f1 .. f11: depth 11.
    inner = nested(10, root="f1").removeprefix("{ ").removesuffix(" }")
    document = f"{{ me {{ ...Deeper }} }} fragment Deeper on User {{ {inner} }}"
    body = await gql(document)
    assert any("exceeds maximum operation depth" in m for m in error_messages(body)), (document, body)


async def test_depth_limit_rejects_deep_introspection(gql):
    """Introspection is exempt from the depth limiter, so the cyclic `fields { type { fields ...` must be
    stopped by the introspection depth rule."""
    inner = "name"
    for _ in range(6):
        inner = f"fields {{ type {{ {inner} }} }}"
    body = await gql(f"{{ __schema {{ types {{ {inner} }} }} }}")
    assert body["data"] is None
    assert any("introspection depth" in m.lower() for m in error_messages(body)), body


def aliases(count: int) -> str:
    return "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(count)) + " }"


async def test_alias_limit_rejects_sixteen(gql):
    body = await gql(aliases(16))
    assert body["data"] is None
    assert any("aliases" in m for m in error_messages(body)), body


async def test_alias_limit_allows_fifteen(gql):
    body = await gql(aliases(15))
    assert "errors" not in body, body
    assert body["data"] == {f"a{i}": None for i in range(15)}


def token_document(tokens: int) -> str:
    """A valid, cheap-to-validate document of exactly `tokens` tokens (2000 or 2001)."""
    count = 221  # each fragment costs 9 tokens: `...Fi` (2) + `fragment Fi on User { id }` (7)
    spreads = " ".join(f"...F{i}" for i in range(count))
    fragments = " ".join(f"fragment F{i} on User {{ id }}" for i in range(count))
    padding = " id" * (tokens - 5 - 9 * count)
    return f"{{ me {{ {spreads}{padding} }} }} {fragments}"


async def test_token_limit_rejects_2001_tokens(gql):
    body = await gql(token_document(2001))
    assert body["data"] is None
    assert any("more than 2000 tokens" in m for m in error_messages(body)), body


async def test_token_limit_allows_2000_tokens(gql):
    body = await gql(token_document(2000))
    assert "errors" not in body, body
    assert body["data"] == {"me": None}


async def test_token_limit_rejects_huge_document(gql):
    body = await gql("{ me { " + "id " * 50_000 + "} }")
    assert body["data"] is None
    assert any("tokens" in m for m in error_messages(body)), error_messages(body)


# --- no schema leaks through suggestions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        ("{ mee { id } }", None),  # field
        ("{ me { emial } }", None),  # field on a type
        ("{ users(firts: 5) { pageInfo { hasNextPage } } }", None),  # argument
        ("{ users(filter: {role: STUDNT}) { pageInfo { hasNextPage } } }", None),  # enum value
        ('{ users(filter: {serch: "x"}) { pageInfo { hasNextPage } } }', None),  # input field
        ("query($f: UserFiltr) { users(filter: $f) { pageInfo { hasNextPage } } }", None),  # type name
        (
            "mutation($input: LoginInput!) { login(input: $input) { __typename } }",
            {"input": {"emial": "a@b.c", "password": "x"}},
        ),  # input field in variables
    ],
    ids=[
        "field",
        "field-on-type",
        "argument",
        "enum-value",
        "input-field",
        "type-name",
        "variable-input-field",
    ],
)
async def test_error_messages_never_suggest_fields(gql, document, variables):
    body = await gql(document, variables)
    assert body.get("errors"), body
    for message in error_messages(body):
        assert "Did you mean" not in message, message


# --- transport rules --------------------------------------------------------------------------------------


def register_document(email: str) -> str:
    return (
        f'mutation {{ register(input: {{email: "{email}", password: "{TEST_PASSWORD}", '
        'fullName: "Csrf Victim"})'
        " { __typename } }"
    )


async def user_exists(runtime, email: str) -> bool:
    async with runtime.transaction() as session:
        return await session.scalar(select(User.id).where(User.email == email)) is not None


async def test_refuse_mutation_over_get(http, runtime, unique_email):
    email = unique_email("get")
    response = await http.get("/graphql", params={"query": register_document(email)})
    assert 400 <= response.status_code < 500, response.text
    assert not await user_exists(runtime, email)
    # A query over GET is fine (and proves the endpoint answers GET at all).
    ok = await http.get("/graphql", params={"query": "{ __typename }"})
    assert ok.status_code == 200 and ok.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    "content_type", ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded"]
)
async def test_refuse_simple_cross_site_content_types(http, runtime, unique_email, content_type):
    """Browsers send these cross-site without a CORS preflight; executing them would allow CSRF."""
    email = unique_email("csrf")
    payload = orjson.dumps({"query": register_document(email)})
    response = await http.post("/graphql", content=payload, headers={"content-type": content_type})
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert not await user_exists(runtime, email)


async def test_refuse_multipart_post(http):
    response = await http.post(
        "/graphql", files={"operations": (None, '{"query": "{ __typename }"}'), "map": (None, "{}")}
    )
    assert 400 <= response.status_code < 500, response.text


# --- error shape --------------------------------------------------------------------------------------------


async def test_unexpected_errors_are_masked_with_request_id(gql):
    """An unknown __typename makes Strawberry's `_entities` raise a KeyError: masked, logged, traceable."""
    request_id = f"req-{uuid.uuid4().hex}"
    response = await gql.raw(
        '{ _entities(representations: [{__typename: "NoSuchType", id: "1"}]) { __typename } }',
        headers={"x-request-id": request_id},
    )
    assert response.headers["x-request-id"] == request_id
    error = response.json()["errors"][0]
    assert error["message"] == "Unexpected error."
    assert error["extensions"] == {"code": "INTERNAL", "requestId": request_id}
    assert "NoSuchType" not in response.text and "KeyError" not in response.text


ERROR_DOCUMENTS: list[tuple[str, str, dict | None]] = [
    ("syntax", "{ me { id ", None),
    ("tokens", "{ me { " + "id " * 2100 + "} }", None),
    ("depth", nested(11), None),
    ("aliases", aliases(16), None),
    ("unknown field", "{ nope }", None),
    ("missing variable", "query($e: String!) { __typename @include(if: true) } ", None),
    (
        "variable coercion",
        "mutation($input: LoginInput!) { login(input: $input) { __typename } }",
        {"input": {"email": 1}},
    ),
    (
        "introspection depth",
        "{ __schema { types { fields { type { fields { type { fields { type { name } } } } } } } } }",
        None,
    ),
    ("forbidden", "{ users(first: 1) { pageInfo { hasNextPage } } }", None),
    ("page size", "{ users(first: 1000) { pageInfo { hasNextPage } } }", None),
    ("unexpected", '{ _entities(representations: [{__typename: "Nope", id: "1"}]) { __typename } }', None),
]


@pytest.mark.parametrize(
    ("case", "document", "variables"), ERROR_DOCUMENTS, ids=[c for c, _, _ in ERROR_DOCUMENTS]
)
async def test_every_error_has_a_code(gql, case, document, variables):
    response = await gql.raw(document, variables)
    body = response.json()
    assert body.get("errors"), (case, body)
    for error in body["errors"]:
        assert isinstance((error.get("extensions") or {}).get("code"), str), (case, error)


async def test_errors_raised_before_execution_are_masked(gql):
    """`{ }` parses (graphql-core 3.3) but crashes Strawberry's depth limiter with a ValueError. Whatever
    fails before execution must still reach the client masked and with a code, never as raw exception text."""
    body = await gql("{ }")
    assert body["data"] is None
    for error in body["errors"]:
        assert "max()" not in error["message"], error
        assert (error.get("extensions") or {}).get("code"), error


# --- introspection --------------------------------------------------------------------------------


async def test_introspection_allowed_in_test_mode(gql, settings):
    assert not settings.is_production
    body = await gql(INTROSPECT)
    names = {t["name"] for t in body["data"]["__schema"]["types"]}
    assert {"User", "Query", "Mutation"} <= names


@pytest.fixture(scope="module")
async def production_app(database: None) -> AsyncIterator[Any]:
    from subgraphs.users.app import create_app

    secret = secrets.token_urlsafe(32)
    settings = production_settings(secret)
    assert settings.is_production and settings.database.url and settings.redis.url
    app = create_app(settings)
    app.state.test_router_secret = secret
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def prod_http(production_app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=production_app, client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://users.test") as client:
        yield client


@pytest.fixture
def prod_gql(production_app, prod_http) -> GraphQLClient:
    """Talks to the production app as the router does: with the shared secret."""
    secret = production_app.state.test_router_secret

    class RouterClient(GraphQLClient):
        async def raw(self, query, variables=None, *, token=None, headers=None):  # type: ignore[override]
            return await super().raw(
                query, variables, token=token, headers={ROUTER_SECRET_HEADER: secret, **(headers or {})}
            )

    return RouterClient(prod_http)


async def test_production_refuses_requests_without_router_secret(prod_http, production_app):
    for headers in ({}, {ROUTER_SECRET_HEADER: "wrong"}, {ROUTER_SECRET_HEADER: ""}):
        response = await prod_http.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
        assert response.status_code == 403, (headers, response.text)
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    get = await prod_http.get("/graphql", params={"query": "{ __typename }"})
    assert get.status_code == 403
    # Health, readiness and the JWKS stay open (probes and other subgraphs).
    assert (await prod_http.get("/health")).status_code == 200
    jwks = await prod_http.get("/.well-known/jwks.json")
    assert jwks.status_code == 200 and all("d" not in key for key in jwks.json()["keys"])


async def test_production_accepts_router_traffic(prod_gql):
    body = await prod_gql("{ __typename }")
    assert body == {"data": {"__typename": "Query"}}


async def test_production_refuses_anonymous_introspection(prod_gql):
    body = await prod_gql(INTROSPECT)
    assert body["data"] is None, "anonymous introspection succeeded in production"
    assert body["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED", body
    typed = await prod_gql('{ __type(name: "User") { fields { name } } }')
    assert typed["data"] is None and typed["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"


async def test_production_refuses_student_introspection(prod_gql, gql, mailbox, runtime, unique_email):
    student = await signed_in_as(gql, mailbox, runtime, unique_email("prod-student"))
    # The token is fine for ordinary queries ...
    me = await prod_gql("{ me { id } }", token=student["accessToken"])
    assert me["data"]["me"]["id"] == student["user"]["id"], me
    # ... but students do not hold schema:read.
    body = await prod_gql(INTROSPECT, token=student["accessToken"])
    assert body["data"] is None, "a student introspected the production schema"
    assert body["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"


async def test_production_allows_instructor_introspection(prod_gql, gql, mailbox, runtime, unique_email):
    instructor = await signed_in_as(gql, mailbox, runtime, unique_email("prod-instructor"), "instructor")
    body = await prod_gql(INTROSPECT, token=instructor["accessToken"])
    assert "errors" not in body, body
    assert "User" in {t["name"] for t in body["data"]["__schema"]["types"]}


async def test_production_still_verifies_tokens(prod_gql):
    forged = base64.urlsafe_b64encode(b'{"alg":"none"}').decode().rstrip("=") + ".e30."
    response = await prod_gql.raw("{ me { id } }", token=forged)
    assert response.status_code == 401
