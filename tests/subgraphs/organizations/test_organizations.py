"""Organizations: create (verified users become admins), read by id or slug, update, myOrganizations."""

from __future__ import annotations

import uuid

from subgraphs.core.rbac import MEMBERSHIPS_KEY
from tests.subgraphs.organizations.queries import CREATE_ORG, MY_ORGS, ORG_BY_ID, ORG_BY_SLUG, UPDATE_ORG


def slug() -> str:
    return f"acme-{uuid.uuid4().hex[:10]}"


async def test_create_organization_makes_the_creator_its_admin(org_gql, org_runtime, minter):
    creator = await minter.user("student")  # any platform role: membership decides inside the org
    s = slug()
    body = await org_gql(
        CREATE_ORG,
        {"input": {"name": "  Acme   Academy ", "slug": s, "description": "Hi"}},
        token=creator.token,
    )
    result = body["data"]["createOrganization"]
    assert result["__typename"] == "OrganizationSuccess", body
    org = result["organization"]
    assert org["name"] == "Acme Academy" and org["slug"] == s and org["description"] == "Hi"
    assert org["viewerRole"] == "ORGANIZATION_ADMIN"
    assert org["settings"] == {
        "labIdleTimeoutSeconds": 900,
        "labStopTimeoutSeconds": 7200,
        "labMaxSessionMinutes": 240,
        "labMaxConcurrentPerUser": 2,
        "labMaxRunningPerOrganization": 100,
        "labMemoryMb": 2048,
        "labCpus": 1.5,
        "generationDailyTokenBudget": None,
    }
    # The projection every subgraph authorizes with already has the new membership.
    projection = await org_runtime.redis.hgetall(MEMBERSHIPS_KEY.format(user_id=creator.id))
    assert projection == {org["id"].encode(): b"organization_admin"}


async def test_create_organization_refuses_unverified_email(org_gql, minter):
    unverified = await minter.user(email_verified=False)
    body = await org_gql(CREATE_ORG, {"input": {"name": "Nope", "slug": slug()}}, token=unverified.token)
    result = body["data"]["createOrganization"]
    assert result == {
        "__typename": "ForbiddenError",
        "code": "EMAIL_NOT_VERIFIED",
        "message": result["message"],
    }


async def test_create_organization_refuses_api_clients_and_anonymous(org_gql, minter):
    client = await minter.client(uuid.uuid4(), ["manage_organization"])
    as_client = await org_gql(CREATE_ORG, {"input": {"name": "Nope", "slug": slug()}}, token=client.token)
    assert as_client["data"]["createOrganization"]["code"] == "UNAUTHENTICATED"
    anonymous = await org_gql(CREATE_ORG, {"input": {"name": "Nope", "slug": slug()}})
    assert anonymous["data"]["createOrganization"]["code"] == "UNAUTHENTICATED"


async def test_create_organization_with_a_taken_slug_is_a_conflict(org_gql, minter):
    first, second = await minter.user(), await minter.user()
    s = slug()
    assert (await org_gql(CREATE_ORG, {"input": {"name": "One", "slug": s}}, token=first.token))["data"][
        "createOrganization"
    ]["__typename"] == "OrganizationSuccess"
    again = await org_gql(CREATE_ORG, {"input": {"name": "Two", "slug": s.upper()}}, token=second.token)
    assert again["data"]["createOrganization"]["__typename"] == "ConflictError"
    assert again["data"]["createOrganization"]["code"] == "SLUG_TAKEN"


async def test_create_organization_validates_input(org_gql, minter):
    creator = await minter.user()
    body = await org_gql(CREATE_ORG, {"input": {"name": "   ", "slug": "-bad slug-"}}, token=creator.token)
    result = body["data"]["createOrganization"]
    assert result["__typename"] == "ValidationError"
    assert {e["field"] for e in result["fieldErrors"]} == {"input.name"}
    bad_slug = await org_gql(
        CREATE_ORG, {"input": {"name": "Fine", "slug": "-bad slug-"}}, token=creator.token
    )
    assert [e["field"] for e in bad_slug["data"]["createOrganization"]["fieldErrors"]] == ["input.slug"]


async def test_organization_by_id_and_slug_for_members_only(org_gql, minter):
    admin = await minter.user()
    org_id = await minter.organization(admin, name="Readable")
    student = await minter.member(org_id, "student")
    outsider = await minter.user("organization_admin")

    by_id = await org_gql(ORG_BY_ID, {"id": org_id}, token=student.token)
    assert by_id["data"]["organization"]["name"] == "Readable"
    assert by_id["data"]["organization"]["viewerRole"] == "STUDENT"
    slug_value = by_id["data"]["organization"]["slug"]
    by_slug = await org_gql(ORG_BY_SLUG, {"slug": slug_value}, token=student.token)
    assert by_slug["data"]["organization"]["id"] == org_id

    refused = await org_gql(ORG_BY_ID, {"id": org_id}, token=outsider.token)
    assert refused["data"]["organization"] is None
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # An unknown id answers like a foreign one; an unknown slug is simply not there.
    unknown = await org_gql(ORG_BY_ID, {"id": str(uuid.uuid4())}, token=outsider.token)
    assert unknown["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    missing = await org_gql(ORG_BY_SLUG, {"slug": "no-such-org-here"}, token=outsider.token)
    assert missing == {"data": {"organization": None}}


async def test_organization_needs_exactly_one_of_id_and_slug(org_gql, minter):
    caller = await minter.user()
    body = await org_gql("{ organization { id } }", token=caller.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_update_organization_by_its_admin(org_gql, minter):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    new_slug = slug()
    body = await org_gql(
        UPDATE_ORG,
        {
            "input": {
                "id": org_id,
                "name": "Renamed",
                "slug": new_slug,
                "description": "New words",
                "settings": {"labIdleTimeoutSeconds": 2700, "labCpus": 2.0},
            }
        },
        token=admin.token,
    )
    org = body["data"]["updateOrganization"]["organization"]
    assert org["name"] == "Renamed" and org["slug"] == new_slug and org["description"] == "New words"
    assert org["settings"]["labIdleTimeoutSeconds"] == 2700 and org["settings"]["labCpus"] == 2.0
    assert org["settings"]["labMaxSessionMinutes"] == 240  # untouched settings keep their value

    invalid = await org_gql(
        UPDATE_ORG, {"input": {"id": org_id, "settings": {"labIdleTimeoutSeconds": 1}}}, token=admin.token
    )
    result = invalid["data"]["updateOrganization"]
    assert result["__typename"] == "ValidationError"
    assert result["fieldErrors"][0]["field"] == "input.settings.labIdleTimeoutSeconds"


async def test_the_generation_budget_is_cleared_by_null_and_kept_when_omitted(org_gql, minter):
    admin = await minter.user()
    org_id = await minter.organization(admin)

    async def update(settings: dict) -> dict:
        body = await org_gql(UPDATE_ORG, {"input": {"id": org_id, "settings": settings}}, token=admin.token)
        return body["data"]["updateOrganization"]["organization"]["settings"]

    assert (await update({"generationDailyTokenBudget": 5000}))["generationDailyTokenBudget"] == 5000
    kept = await update({"labMemoryMb": 1024})  # omitted: unchanged
    assert kept["generationDailyTokenBudget"] == 5000 and kept["labMemoryMb"] == 1024
    cleared = await update({"generationDailyTokenBudget": None, "labMemoryMb": None})
    # null: back to the platform default; a null for a setting that cannot be cleared changes nothing.
    assert cleared["generationDailyTokenBudget"] is None and cleared["labMemoryMb"] == 1024


async def test_update_organization_refused_to_instructors(org_gql, minter):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    instructor = await minter.member(org_id, "instructor", platform_role="organization_admin")
    body = await org_gql(UPDATE_ORG, {"input": {"id": org_id, "name": "Mine now"}}, token=instructor.token)
    assert body["data"]["updateOrganization"]["__typename"] == "ForbiddenError"
    assert body["data"]["updateOrganization"]["code"] == "FORBIDDEN"


async def test_my_organizations_lists_memberships_by_name(org_gql, minter):
    person = await minter.user()
    own = await minter.organization(person, name="Zeta School")
    other_admin = await minter.user()
    joined = await minter.organization(other_admin, name="Alpha School")
    await minter.add(joined, person.id, "instructor")
    await minter.organization(other_admin, name="Not Mine")

    body = await org_gql(MY_ORGS, token=person.token)
    assert [(o["id"], o["viewerRole"]) for o in body["data"]["myOrganizations"]] == [
        (joined, "INSTRUCTOR"),
        (own, "ORGANIZATION_ADMIN"),
    ]


ORGANIZATIONS = """query($search: String, $first: Int!, $after: String) {
  organizations(search: $search, first: $first, after: $after) {
    nodes { id name slug } pageInfo { hasNextPage endCursor } } }"""


async def test_site_admins_list_every_organization_by_name(org_gql, minter):
    owner = await minter.user()
    marker = uuid.uuid4().hex[:8]
    ids = {}
    for name in (f"Zeta {marker}", f"Alpha {marker}", f"Mu {marker}"):
        ids[name] = await minter.organization(owner, name=name)
    site_admin = await minter.user("site_admin")

    first = await org_gql(ORGANIZATIONS, {"search": marker, "first": 2}, token=site_admin.token)
    page = first["data"]["organizations"]
    assert [o["name"] for o in page["nodes"]] == [f"Alpha {marker}", f"Mu {marker}"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await org_gql(
        ORGANIZATIONS,
        {"search": marker, "first": 2, "after": page["pageInfo"]["endCursor"]},
        token=site_admin.token,
    )
    assert [o["id"] for o in rest["data"]["organizations"]["nodes"]] == [ids[f"Zeta {marker}"]]
    none = await org_gql(ORGANIZATIONS, {"search": f"{marker}%_", "first": 5}, token=site_admin.token)
    assert none["data"]["organizations"]["nodes"] == []  # wildcards are matched literally

    refused = await org_gql(ORGANIZATIONS, {"first": 5}, token=owner.token)
    assert refused["data"] is None and refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
