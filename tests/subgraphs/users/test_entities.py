"""The `_entities` contract of the users subgraph (what the router calls), and N+1 guards."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.subgraphs.users.factories import insert_users, signed_in_as

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")

ENTITIES = """query($representations: [_Any!]!) { _entities(representations: $representations) {
  __typename ... on User { id fullName role email isActive emailVerified lastLoginAt } } }"""
USERS = """query($first: Int, $filter: UserFilter) { users(first: $first, filter: $filter) {
  edges { cursor node { id fullName role email } } pageInfo { hasNextPage endCursor } } }"""


def reps(*ids: str) -> dict:
    return {"representations": [{"__typename": "User", "id": user_id} for user_id in ids]}


async def resolve(gql, *ids: str, token: str | None = None) -> list:
    body = await gql(ENTITIES, reps(*ids), token=token)
    assert "errors" not in body, body
    return body["data"]["_entities"]


@pytest.fixture
async def student(gql, mailbox, runtime, unique_email) -> dict:
    return await signed_in_as(gql, mailbox, runtime, unique_email("entity-student"))


@pytest.fixture
async def instructor(gql, mailbox, runtime, unique_email) -> dict:
    return await signed_in_as(gql, mailbox, runtime, unique_email("entity-instructor"), "instructor")


async def test_resolve_user_public_fields_for_signed_in_caller(gql, student, instructor):
    [entity] = await resolve(gql, instructor["user"]["id"], token=student["accessToken"])
    assert entity["__typename"] == "User"
    assert entity["id"] == instructor["user"]["id"]
    assert entity["fullName"] == "Test Person"
    assert entity["role"] == "INSTRUCTOR"
    # Private fields are null for anyone but the user and site admins.
    assert entity["email"] is None
    assert entity["isActive"] is None and entity["emailVerified"] is None and entity["lastLoginAt"] is None


async def test_resolve_user_private_fields_for_self_and_site_admin(
    gql, mailbox, runtime, unique_email, student
):
    [own] = await resolve(gql, student["user"]["id"], token=student["accessToken"])
    assert own["email"] == student["user"]["email"] and own["isActive"] is True

    admin = await signed_in_as(gql, mailbox, runtime, unique_email("entity-admin"), "site_admin")
    [seen] = await resolve(gql, student["user"]["id"], token=admin["accessToken"])
    assert seen["email"] == student["user"]["email"]
    assert seen["emailVerified"] is True


async def test_resolve_null_for_unknown_and_invalid_ids(gql, student, instructor):
    entities = await resolve(
        gql,
        str(uuid.uuid4()),
        instructor["user"]["id"],
        "not-a-uuid",
        "",
        student["user"]["id"],
        token=student["accessToken"],
    )
    # One answer per representation, in order.
    assert len(entities) == 5
    assert entities[0] is None
    assert entities[1]["id"] == instructor["user"]["id"]
    assert entities[2] is None and entities[3] is None
    assert entities[4]["id"] == student["user"]["id"]


async def test_resolve_null_for_anonymous_caller(gql, student, instructor):
    entities = await resolve(gql, student["user"]["id"], instructor["user"]["id"])
    assert entities == [None, None]


async def test_service_sdl_declares_user_key(gql):
    body = await gql("{ _service { sdl } }")
    sdl = body["data"]["_service"]["sdl"]
    assert re.search(r'type User @key\(fields: "id"\)', sdl), sdl[:2000]
    # The private fields are nullable in the contract (they are null for other callers).
    assert re.search(r"\bemail: String\b(?!!)", sdl)


async def count_statements(count_queries, call) -> int:
    with count_queries() as counter:
        await call()
    return counter.count


async def test_resolve_many_users_in_one_statement(gql, runtime, count_queries, student):
    ids = await insert_users(runtime, f"nplus{uuid.uuid4().hex[:8]}", 20)
    token = student["accessToken"]

    one = await count_statements(count_queries, lambda: resolve(gql, ids[0], token=token))
    many_result: list = []

    async def resolve_many() -> None:
        many_result.extend(await resolve(gql, *ids, token=token))

    many = await count_statements(count_queries, resolve_many)
    assert [entity["id"] for entity in many_result] == ids  # all 20 really resolved
    assert one >= 1
    assert many == one, f"1 representation: {one} statements, 20 representations: {many}"


async def test_users_connection_statements_do_not_grow_with_page_size(
    gql, mailbox, runtime, unique_email, count_queries
):
    admin = await signed_in_as(gql, mailbox, runtime, unique_email("nplus-admin"), "site_admin")
    tag = f"conn{uuid.uuid4().hex[:8]}"
    await insert_users(runtime, tag, 50)
    sizes: dict[int, int] = {}
    pages: dict[int, dict] = {}

    async def page(first: int) -> None:
        body = await gql(USERS, {"first": first, "filter": {"search": tag}}, token=admin["accessToken"])
        assert "errors" not in body, body
        pages[first] = body["data"]["users"]

    for first in (5, 50):
        sizes[first] = await count_statements(count_queries, lambda first=first: page(first))
        assert len(pages[first]["edges"]) == first
    assert sizes[5] >= 1
    assert sizes[5] == sizes[50], sizes
