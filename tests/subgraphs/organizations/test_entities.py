"""The `_entities` contract of the organizations subgraph, and N+1 guards on its lists."""

from __future__ import annotations

import re
import uuid

from tests.subgraphs.organizations.queries import ENTITIES, MEMBERS, reps


async def statements(org_count_queries, call) -> int:
    with org_count_queries() as counter:
        await call()
    return counter.count


async def test_sdl_declares_the_entities_and_router_policies(org_gql):
    sdl = (await org_gql("{ _service { sdl } }"))["data"]["_service"]["sdl"]
    for entity in ("Organization", "Membership", "Track", "AuditLogEntry", "User"):
        assert re.search(rf'type {entity} @key\(fields: "id"\)', sdl), entity
    flat = " ".join(sdl.split())

    def directives(field: str) -> str:
        match = re.search(
            rf"\b{field}\([^)]*\): \w+! (?:@listSize\(.*?\) )?(@authenticated @policy\(policies: \[.*?\]\))",
            flat,
        )
        assert match, field
        return match.group(1)

    members = directives("members")
    assert '["role:student"] ["role:instructor"]' in members and '["scope:view_users"]' in members
    create = directives("createOrganization")  # users only: no scope lets an API client through
    assert '["role:site_admin"]' in create and "scope:" not in create


async def test_entities_answer_one_per_representation_in_order(org_gql, minter):
    admin = await minter.user()
    first = await minter.organization(admin, name="First")
    second = await minter.organization(admin, name="Second")
    body = await org_gql(
        ENTITIES,
        {
            "representations": [
                {"__typename": "Organization", "id": second},
                {"__typename": "Organization", "id": str(uuid.uuid4())},
                {"__typename": "Organization", "id": "not-a-uuid"},
                {"__typename": "Organization", "id": first},
            ]
        },
        token=admin.token,
    )
    assert [e and e["name"] for e in body["data"]["_entities"]] == ["Second", None, None, "First"]


async def test_members_statements_do_not_grow_with_page_size(org_gql, minter, org_count_queries):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    for _ in range(50):
        await minter.member(org_id)
    counts, sizes = {}, {}

    async def page(first: int) -> None:
        body = await org_gql(MEMBERS, {"org": org_id, "first": first}, token=admin.token)
        assert "errors" not in body, body
        sizes[first] = len(body["data"]["members"]["edges"])
        assert {e["node"]["organization"]["id"] for e in body["data"]["members"]["edges"]} == {org_id}

    for first in (5, 50):
        counts[first] = await statements(org_count_queries, lambda first=first: page(first))
    assert sizes == {5: 5, 50: 50}
    assert counts[5] >= 1 and counts[5] == counts[50], counts


async def test_user_memberships_statements_do_not_grow_with_users(org_gql, minter, org_count_queries):
    admin = await minter.user()
    orgs = [await minter.organization(admin, name=f"Org {i}") for i in range(3)]
    users = [await minter.user() for _ in range(20)]
    for i, user in enumerate(users):
        for org_id in orgs[: 1 + i % 3]:
            await minter.add(org_id, user.id, "student")
    site_admin = await minter.user("site_admin")
    results: dict[int, list] = {}

    async def lookup(n: int) -> None:
        body = await org_gql(ENTITIES, reps("User", *(u.id for u in users[:n])), token=site_admin.token)
        assert "errors" not in body, body
        results[n] = body["data"]["_entities"]

    one = await statements(org_count_queries, lambda: lookup(1))
    many = await statements(org_count_queries, lambda: lookup(20))
    assert [len(u["memberships"]) for u in results[20]] == [1 + i % 3 for i in range(20)]
    assert all(m["organization"]["name"].startswith("Org ") for u in results[20] for m in u["memberships"])
    assert one >= 1 and one == many, (one, many)


async def test_organization_and_membership_entities_batch(org_gql, minter, org_count_queries):
    admin = await minter.user()
    orgs = [await minter.organization(admin) for _ in range(10)]
    site_admin = await minter.user("site_admin")

    async def organizations(n: int) -> None:
        body = await org_gql(ENTITIES, reps("Organization", *orgs[:n]), token=site_admin.token)
        assert [e["id"] for e in body["data"]["_entities"]] == orgs[:n]

    assert await statements(org_count_queries, lambda: organizations(1)) == await statements(
        org_count_queries, lambda: organizations(10)
    )
