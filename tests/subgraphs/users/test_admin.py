"""Site administration: listing users (Relay connection), deactivate/reactivate, role changes, createUser."""

from __future__ import annotations

import base64
import uuid

import orjson
import pytest

from tests.conftest import TEST_PASSWORD, token_from_mail
from tests.subgraphs.users.factories import insert_users, outbox_events, signed_in_as
from tests.subgraphs.users.test_auth_flow import LOGIN, ME, REFRESH

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")

USERS = """query($first: Int, $after: String, $filter: UserFilter) {
  users(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id email fullName role isActive } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
ADMIN_RESULT = """__typename ... on UserSuccess { user { id email role isActive emailVerified } }
  ... on Error { code message } ... on ValidationError { fieldErrors { field message } }"""
DEACTIVATE = f"mutation($id: ID!) {{ deactivateUser(input: {{userId: $id}}) {{ {ADMIN_RESULT} }} }}"
REACTIVATE = f"mutation($id: ID!) {{ reactivateUser(input: {{userId: $id}}) {{ {ADMIN_RESULT} }} }}"
CHANGE_ROLE = f"""mutation($id: ID!, $role: Role!) {{
  changeUserRole(input: {{userId: $id, role: $role}}) {{ {ADMIN_RESULT} }} }}"""
CREATE_USER = f"""mutation($input: CreateUserInput!) {{ createUser(input: $input) {{ {ADMIN_RESULT} }} }}"""
RESET = """mutation($token: String!, $password: String!) {
  resetPassword(input: {token: $token, newPassword: $password}) { __typename ... on Error { code } } }"""


@pytest.fixture
async def admin(gql, mailbox, runtime, unique_email) -> dict:
    return await signed_in_as(gql, mailbox, runtime, unique_email("admin"), "site_admin")


@pytest.fixture
async def student(gql, mailbox, runtime, unique_email) -> dict:
    return await signed_in_as(gql, mailbox, runtime, unique_email("student"))


async def list_users(gql, token: str, **variables) -> dict:
    body = await gql(USERS, variables, token=token)
    assert "errors" not in body, body
    return body["data"]["users"]


async def login_typename(gql, email: str, password: str = TEST_PASSWORD) -> str:
    body = await gql(LOGIN, {"input": {"email": email, "password": password}})
    return body["data"]["login"]["__typename"]


async def test_list_users_pages_with_cursors(gql, admin, runtime):
    tag = f"page{uuid.uuid4().hex[:8]}"
    ids = await insert_users(runtime, tag, 7)
    seen: list[str] = []
    after = None
    pages = []
    while True:
        page = await list_users(gql, admin["accessToken"], first=3, after=after, filter={"search": tag})
        pages.append(len(page["edges"]))
        seen += [edge["node"]["id"] for edge in page["edges"]]
        info = page["pageInfo"]
        assert info["hasPreviousPage"] is (after is not None)
        assert info["startCursor"] == page["edges"][0]["cursor"]
        assert info["endCursor"] == page["edges"][-1]["cursor"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert pages == [3, 3, 1]
    assert seen == ids  # every user once, in list order
    # Admins see the private fields.
    page = await list_users(gql, admin["accessToken"], first=1, filter={"search": tag})
    assert page["edges"][0]["node"]["email"].startswith(tag)
    assert page["edges"][0]["node"]["isActive"] is True


async def test_list_users_cursor_is_stable_under_inserts(gql, admin, runtime):
    tag = f"stable{uuid.uuid4().hex[:8]}"
    first_batch = await insert_users(runtime, tag, 4)
    page = await list_users(gql, admin["accessToken"], first=2, filter={"search": tag})
    assert [e["node"]["id"] for e in page["edges"]] == first_batch[:2]
    later = await insert_users(runtime, tag, 2)  # created after: they sort after the first batch
    rest = await list_users(
        gql, admin["accessToken"], first=10, after=page["pageInfo"]["endCursor"], filter={"search": tag}
    )
    assert [e["node"]["id"] for e in rest["edges"]] == first_batch[2:] + later


async def test_list_users_filters_by_role_active_and_search(gql, admin, runtime):
    tag = f"filter{uuid.uuid4().hex[:8]}"
    instructors = await insert_users(runtime, tag, 3, role="instructor")
    students = await insert_users(runtime, tag, 2)
    inactive = await insert_users(runtime, tag, 1, active=False)
    token = admin["accessToken"]

    by_role = await list_users(gql, token, first=50, filter={"search": tag, "role": "INSTRUCTOR"})
    assert {e["node"]["id"] for e in by_role["edges"]} == set(instructors)
    assert {e["node"]["role"] for e in by_role["edges"]} == {"INSTRUCTOR"}

    all_of_tag = await list_users(gql, token, first=50, filter={"search": tag.upper()})  # case-insensitive
    assert {e["node"]["id"] for e in all_of_tag["edges"]} == {*instructors, *students, *inactive}

    only_inactive = await list_users(gql, token, first=50, filter={"search": tag, "isActive": False})
    assert [e["node"]["id"] for e in only_inactive["edges"]] == inactive

    # LIKE wildcards in the search are literal characters, not patterns.
    for wildcard in ("%", "_", f"{tag[:3]}%{tag[3:]}"):
        assert (await list_users(gql, token, first=5, filter={"search": wildcard}))["edges"] == []


async def test_list_users_first_over_100_names_first(gql, admin):
    for first in (101, 0, -1):
        body = await gql(USERS, {"first": first}, token=admin["accessToken"])
        assert body["data"] is None, body
        error = body["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert "first" in error["extensions"]["fieldErrors"], error
    assert len((await list_users(gql, admin["accessToken"], first=100))["edges"]) <= 100


async def test_list_users_tampered_cursor_names_after(gql, admin):
    """A cursor that is not one of ours is the caller's mistake: BAD_USER_INPUT naming `after`."""
    forged = [
        "not-a-cursor!!",
        base64.urlsafe_b64encode(orjson.dumps({"a": 1})).decode(),
        base64.urlsafe_b64encode(orjson.dumps(["not a date", "not a uuid"])).decode(),
        base64.urlsafe_b64encode(orjson.dumps([1, 2])).decode(),
    ]
    for cursor in forged:
        body = await gql(USERS, {"first": 2, "after": cursor}, token=admin["accessToken"])
        assert body["data"] is None, body
        error = body["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (cursor, error)
        assert "after" in error["extensions"]["fieldErrors"], (cursor, error)


async def test_student_cannot_administer(gql, student, admin):
    token = student["accessToken"]
    listed = await gql(USERS, {"first": 5}, token=token)
    assert listed["data"] is None and listed["errors"][0]["extensions"]["code"] == "FORBIDDEN", listed

    target = admin["user"]["id"]
    for document, variables in (
        (DEACTIVATE, {"id": target}),
        (REACTIVATE, {"id": target}),
        (CHANGE_ROLE, {"id": student["user"]["id"], "role": "SITE_ADMIN"}),
        (
            CREATE_USER,
            {"input": {"email": f"x-{uuid.uuid4().hex[:8]}@learners.coursegraph.dev", "fullName": "X"}},
        ),
    ):
        body = await gql(document, variables, token=token)
        result = next(iter(body["data"].values()))
        assert result["__typename"] == "ForbiddenError" and result["code"] == "FORBIDDEN", (document, body)

    # Nothing changed: the admin is still active and the student is still a student.
    assert (await gql(ME, token=admin["accessToken"]))["data"]["me"]["isActive"] is True
    assert (await gql(ME, token=token))["data"]["me"]["role"] == "STUDENT"


async def test_anonymous_cannot_administer(gql, student):
    listed = await gql(USERS, {"first": 5})
    assert listed["data"] is None and listed["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    body = await gql(DEACTIVATE, {"id": student["user"]["id"]})
    assert body["data"]["deactivateUser"]["__typename"] == "ForbiddenError"
    assert body["data"]["deactivateUser"]["code"] == "UNAUTHENTICATED"


async def test_deactivate_ends_sessions_and_blocks_login_then_reactivate(
    gql, mailbox, runtime, admin, unique_email
):
    email = unique_email("target")
    target = await signed_in_as(gql, mailbox, runtime, email)
    target_id = target["user"]["id"]

    body = await gql(DEACTIVATE, {"id": target_id}, token=admin["accessToken"])
    result = body["data"]["deactivateUser"]
    assert result["__typename"] == "UserSuccess" and result["user"]["isActive"] is False, body

    response = await gql.raw(ME, token=target["accessToken"])
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_TOKEN"
    refreshed = await gql(REFRESH, {"t": target["refreshToken"]})
    assert refreshed["data"]["refreshToken"]["__typename"] == "InvalidTokenError"
    assert await login_typename(gql, email) == "InvalidCredentialsError"

    body = await gql(REACTIVATE, {"id": target_id}, token=admin["accessToken"])
    assert body["data"]["reactivateUser"]["user"]["isActive"] is True, body
    assert await login_typename(gql, email) == "LoginSuccess"

    admin_id = admin["user"]["id"]
    for event_type, before, after in (
        ("users.user.deactivated", True, False),
        ("users.user.reactivated", False, True),
    ):
        events = await outbox_events(runtime, event_type, target_id)
        assert len(events) == 1, (event_type, events)
        assert events[0]["actor_id"] == admin_id
        assert events[0]["payload"] == {"before": {"is_active": before}, "after": {"is_active": after}}


async def test_change_user_role(gql, mailbox, runtime, admin, unique_email):
    email = unique_email("promoted")
    target = await signed_in_as(gql, mailbox, runtime, email)
    body = await gql(
        CHANGE_ROLE, {"id": target["user"]["id"], "role": "INSTRUCTOR"}, token=admin["accessToken"]
    )
    assert body["data"]["changeUserRole"]["user"]["role"] == "INSTRUCTOR", body

    # The role is in the access token, so the old session ends; a new sign-in carries the new role.
    assert (await gql.raw(ME, token=target["accessToken"])).status_code == 401
    again = await gql(LOGIN, {"input": {"email": email, "password": TEST_PASSWORD}})
    assert again["data"]["login"]["user"]["role"] == "INSTRUCTOR"

    events = await outbox_events(runtime, "users.user.role_changed", target["user"]["id"])
    assert len(events) == 1
    assert events[0]["actor_id"] == admin["user"]["id"]
    assert events[0]["payload"] == {"before": {"role": "student"}, "after": {"role": "instructor"}}


async def test_admin_cannot_deactivate_or_demote_self(gql, admin):
    for document, variables in (
        (DEACTIVATE, {"id": admin["user"]["id"]}),
        (CHANGE_ROLE, {"id": admin["user"]["id"], "role": "STUDENT"}),
    ):
        body = await gql(document, variables, token=admin["accessToken"])
        assert next(iter(body["data"].values()))["__typename"] == "ForbiddenError", body
    assert (await gql(ME, token=admin["accessToken"]))["data"]["me"]["role"] == "SITE_ADMIN"


async def test_admin_action_on_unknown_or_invalid_id(gql, admin):
    body = await gql(DEACTIVATE, {"id": str(uuid.uuid4())}, token=admin["accessToken"])
    assert body["data"]["deactivateUser"]["__typename"] == "NotFoundError", body
    body = await gql(DEACTIVATE, {"id": "not-a-uuid"}, token=admin["accessToken"])
    result = body["data"]["deactivateUser"]
    assert result["__typename"] == "ValidationError", body
    assert [e["field"] for e in result["fieldErrors"]] == ["input.userId"]


async def test_create_user_mails_reset_link_and_user_sets_password(
    gql, mailbox, runtime, admin, unique_email
):
    email = unique_email("created")
    body = await gql(
        CREATE_USER,
        {"input": {"email": email, "fullName": "New Instructor", "role": "INSTRUCTOR"}},
        token=admin["accessToken"],
    )
    result = body["data"]["createUser"]
    assert result["__typename"] == "UserSuccess", body
    assert result["user"]["email"] == email and result["user"]["role"] == "INSTRUCTOR"
    user_id = result["user"]["id"]

    # No password works until the person sets one.
    assert await login_typename(gql, email, "any password at all") == "InvalidCredentialsError"

    token = token_from_mail(await mailbox.wait_for(email, "reset_password"))
    reset = await gql(RESET, {"token": token, "password": "my own new password"})
    assert reset["data"]["resetPassword"]["__typename"] == "MessageSuccess", reset
    signed_in = await gql(LOGIN, {"input": {"email": email, "password": "my own new password"}})
    user = signed_in["data"]["login"]["user"]
    assert user["id"] == user_id and user["role"] == "INSTRUCTOR" and user["emailVerified"] is True

    events = await outbox_events(runtime, "users.user.created", user_id)
    assert len(events) == 1 and events[0]["actor_id"] == admin["user"]["id"]

    duplicate = await gql(
        CREATE_USER, {"input": {"email": email, "fullName": "Again"}}, token=admin["accessToken"]
    )
    assert duplicate["data"]["createUser"]["__typename"] == "ValidationError"
    assert [e["field"] for e in duplicate["data"]["createUser"]["fieldErrors"]] == ["input.email"]
