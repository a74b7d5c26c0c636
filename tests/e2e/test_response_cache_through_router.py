"""The router's per-caller response cache (router/response-cache.ts), through a second real router with the
cache on (a TTL of a minute, so a stale answer could not hide), in front of the e2e platform's subgraphs:
an answer is only ever the caller's own, and never outlives a change the caller made, through this router
or another one, a change someone else made to the caller's own records, or to anything it shows by id."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import websockets

from subgraphs.core.settings import get_settings
from subgraphs.tooling.paths import ROUTER_DIR
from subgraphs.tooling.router import router_argv, router_env
from subgraphs.tooling.supervisor import ProcessSpec, supervised
from tests.conftest import GraphQLClient, token_from_mail
from tests.e2e.helpers import signed_in_student
from tests.e2e.test_account_through_router import wait_for_mail
from tests.e2e.test_organizations_through_router import (
    ACCEPT,
    CREATE,
    INVITE,
    MY_MEMBERSHIPS,
    REMOVE,
    verified_user,
)
from tests.platform import Platform
from tests.services import free_port

pytestmark = pytest.mark.e2e

ME = "{ me { id email memberships { role organization { id } } } }"
LOGOUT = "mutation { logout { __typename } }"
MY_ORGANIZATIONS = "{ me { memberships { organization { id name } } } }"
RENAME = """mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { __typename } }"""
HIT = "x-coursegraph-cache"


@pytest.fixture(scope="module")
async def cached_router(platform: Platform) -> AsyncIterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k.startswith(("COURSEGRAPH_", "DATABASE_URL", "REDIS_URL"))}
    spec = ProcessSpec(
        name="cached-router",
        argv=router_argv(),
        env={
            **env,
            **router_env(get_settings()),
            "CG_PORT": str(port),
            "CG_JWKS_URL": f"{platform.subgraph_urls['users']}/.well-known/jwks.json",
            "CG_SUBGRAPH_URLS": json.dumps({d: f"{u}/graphql" for d, u in platform.subgraph_urls.items()}),
            "CG_WEB_DIR": str(platform.web_dir),
            "CG_RESPONSE_CACHE_TTL_MS": "60000",
        },
        cwd=ROUTER_DIR,
        ready_url=f"{url}/readiness",
        ready_timeout=120,
    )
    async with supervised([spec]):
        yield url


@pytest.fixture
async def cached(cached_router: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=cached_router, timeout=30) as client:
        yield client


async def ask(http: httpx.AsyncClient, token: str, query: str = ME, **headers: str) -> httpx.Response:
    headers["Authorization"] = f"Bearer {token}"
    return await http.post("/graphql", json={"query": query}, headers=headers)


async def test_an_answer_is_only_ever_the_callers_own(cached, unique_email):
    gql = GraphQLClient(cached)
    tokens = [await signed_in_student(gql, unique_email) for _ in range(2)]
    first = [await ask(cached, t) for t in tokens]
    again = [await ask(cached, t) for t in tokens]
    ids = [r.json()["data"]["me"]["id"] for r in first]
    assert ids[0] != ids[1]
    for response, id_ in zip(again, ids, strict=True):
        assert response.headers.get(HIT) == "hit"  # served from the cache ...
        assert response.json()["data"]["me"]["id"] == id_  # ... and the caller's own answer
    assert all(HIT not in r.headers for r in first)


async def test_the_callers_own_change_shows_at_once(cached, unique_email):
    gql = GraphQLClient(cached)
    login = await verified_user(gql, unique_email("cache-owner"), "Cache Owner")
    token = login["accessToken"]
    before = await ask(cached, token)
    assert (await ask(cached, token)).headers.get(HIT) == "hit"
    assert before.json()["data"]["me"]["memberships"] == []
    created = await gql(
        CREATE, {"input": {"name": "Cache Academy", "slug": f"cache-{int(time.time() * 1000)}"}}, token=token
    )
    org = created["data"]["createOrganization"]["organization"]["id"]
    after = await ask(cached, token)
    assert HIT not in after.headers
    assert [m["organization"]["id"] for m in after.json()["data"]["me"]["memberships"]] == [org]


async def test_the_callers_change_through_another_router_shows_at_once(cached, router_gql, unique_email):
    """The platform's own router (another process, no cache of its own) runs the mutation: the caller's
    stamp this router reads moved all the same (in Redis, by the event the change published)."""
    gql = GraphQLClient(cached)
    token = (await verified_user(gql, unique_email("cache-elsewhere"), "Cache Elsewhere"))["accessToken"]
    await ask(cached, token)
    assert (await ask(cached, token)).headers.get(HIT) == "hit"
    slug = f"elsewhere-{int(time.time() * 1000)}"
    created = await router_gql(CREATE, {"input": {"name": "Elsewhere", "slug": slug}}, token=token)
    assert created["data"]["createOrganization"]["__typename"] == "OrganizationSuccess", created
    after = await ask(cached, token)
    assert HIT not in after.headers
    assert [m["role"] for m in after.json()["data"]["me"]["memberships"]] == ["ORGANIZATION_ADMIN"]


async def organization_with_student(router_gql, unique_email) -> tuple[str, str, dict]:
    """An organization (its admin's token, its id) with one student (their LoginSuccess)."""
    admin = (await verified_user(router_gql, unique_email("cache-admin"), "Cache Admin"))["accessToken"]
    slug = f"cache-org-{int(time.time() * 1000)}"
    created = await router_gql(CREATE, {"input": {"name": "Cache Org", "slug": slug}}, token=admin)
    org = created["data"]["createOrganization"]["organization"]["id"]
    email = unique_email("cache-student")
    invite = {"input": {"organizationId": org, "email": email, "role": "STUDENT"}}
    assert (await router_gql(INVITE, invite, token=admin))["data"]["inviteMember"][
        "__typename"
    ] == "InviteMemberSuccess"
    invitation = token_from_mail(await wait_for_mail(email, "organization_invitation"))
    student = await verified_user(router_gql, email, "Cache Student")
    accepted = await router_gql(ACCEPT, {"token": invitation}, token=student["accessToken"])
    assert accepted["data"]["acceptInvitation"]["__typename"] == "MembershipSuccess", accepted
    return admin, org, student


async def test_a_change_others_make_to_the_callers_records_shows_at_once(cached, router_gql, unique_email):
    admin, org, student = await organization_with_student(router_gql, unique_email)
    token = student["accessToken"]
    before = await ask(cached, token, MY_MEMBERSHIPS)
    assert (await ask(cached, token, MY_MEMBERSHIPS)).headers.get(HIT) == "hit"
    assert [m["role"] for m in before.json()["data"]["me"]["memberships"]] == ["STUDENT"]
    removal = {"input": {"organizationId": org, "userId": student["user"]["id"]}}
    removed = await router_gql(REMOVE, removal, token=admin)
    assert removed["data"]["removeMember"]["__typename"] == "MembershipSuccess", removed
    after = await ask(cached, token, MY_MEMBERSHIPS)
    assert HIT not in after.headers
    assert after.json()["data"]["me"]["memberships"] == []


async def test_a_change_others_make_to_what_the_answer_shows_shows_at_once(cached, router_gql, unique_email):
    """The admin renames the organization: the student's answer shows it by id, so it is not served again."""
    admin, org, student = await organization_with_student(router_gql, unique_email)
    token = student["accessToken"]
    await ask(cached, token, MY_ORGANIZATIONS)
    assert (await ask(cached, token, MY_ORGANIZATIONS)).headers.get(HIT) == "hit"
    renamed = await router_gql(RENAME, {"input": {"id": org, "name": "Renamed Org"}}, token=admin)
    assert renamed["data"]["updateOrganization"]["__typename"] == "OrganizationSuccess", renamed
    after = await ask(cached, token, MY_ORGANIZATIONS)
    assert HIT not in after.headers
    assert [m["organization"]["name"] for m in after.json()["data"]["me"]["memberships"]] == ["Renamed Org"]


async def test_no_cache_asks_afresh(cached, unique_email):
    token = await signed_in_student(GraphQLClient(cached), unique_email)
    await ask(cached, token)
    assert (await ask(cached, token)).headers.get(HIT) == "hit"
    assert HIT not in (await ask(cached, token, **{"Cache-Control": "no-cache"})).headers


async def test_no_mutation_goes_around_the_cache_over_websocket(cached_router, cached, unique_email):
    """The caller's stamp moves on mutations the router executes; over WebSocket it executes none."""
    token = await signed_in_student(GraphQLClient(cached), unique_email)
    url = cached_router.replace("http", "ws", 1) + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": LOGOUT}}))
        answer = json.loads(await asyncio.wait_for(ws.recv(), 30))
    assert "data" not in answer["payload"], answer
    assert answer["payload"]["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_a_token_signed_out_gets_nothing_from_the_cache(cached, unique_email):
    gql = GraphQLClient(cached)
    token = await signed_in_student(gql, unique_email)
    await ask(cached, token)
    assert (await ask(cached, token)).headers.get(HIT) == "hit"
    assert (await ask(cached, token, LOGOUT)).json()["data"]["logout"]["__typename"] == "LogoutSuccess"
    refused = await ask(cached, token)
    assert HIT not in refused.headers
    assert refused.json()["errors"][0]["extensions"]["code"] == "INVALID_TOKEN"


async def test_answers_with_errors_are_not_kept(cached, unique_email):
    gql = GraphQLClient(cached)
    token = await signed_in_student(gql, unique_email)
    query = "{ me { id } users(first: 1) { edges { node { id } } } }"  # `users`: site admins only
    for _ in range(2):
        response = await ask(cached, token, query)
        assert HIT not in response.headers
        assert response.json()["data"]["me"]["id"] and response.json()["errors"]


def test_the_cache_is_on_by_default():
    assert get_settings().router.response_cache_ttl_ms == 5_000
    assert router_env(get_settings())["CG_RESPONSE_CACHE_TTL_MS"] == "5000"
