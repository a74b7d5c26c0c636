"""The audit log: one consumer over every domain's stream, exactly-once entries under at-least-once delivery,
who/what/where/when on every entry, authorization failures of every subgraph, and the auditLog query."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from subgraphs.core.domains import outboxes
from subgraphs.core.events import Event, OutboxRelay
from subgraphs.core.mail import mail_event
from subgraphs.organizations.audit import AuditConsumer, record, redact
from subgraphs.organizations.models import AuditLogEntry
from tests.conftest import TEST_PASSWORD
from tests.subgraphs.organizations.queries import AUDIT_LOG, MEMBERS, REMOVE, UPDATE_ORG
from tests.subgraphs.users.test_auth_flow import LOGIN, register_verified

INVITE_ONLY = """mutation($o: ID!, $e: String!) {
  inviteMember(input: {organizationId: $o, email: $e}) { __typename } }"""

# --- delivery -------------------------------------------------------------------------------------


async def count_entries(runtime, event_id: uuid.UUID) -> int:
    async with runtime.transaction() as session:
        return await session.scalar(select(func.count()).where(AuditLogEntry.id == event_id))


def private_stream() -> str:
    return f"events.audit-test-{uuid.uuid4().hex[:10]}"


async def publish(redis, stream: str, event: Event) -> None:
    """What the relay does: one stream entry per event."""
    await redis.xadd(stream, {"id": str(event.id), "event": orjson.dumps(event.model_dump(mode="json"))})


def an_event(**changes: Any) -> Event:
    base = dict(
        type="organizations.tests.happened",
        actor_id=str(uuid.uuid4()),
        organization_id=str(uuid.uuid4()),
        subject_ids={"thing_id": str(uuid.uuid4())},
        payload={"n": 1},
        request_id=uuid.uuid4().hex,
        source_ip="198.51.100.4",
    )
    return Event(**{**base, **changes})


@pytest.mark.parametrize("crash", ["after_read", "after_insert"])
async def test_consumer_killed_between_read_and_ack_loses_and_doubles_nothing(org_runtime, crash):
    redis, stream = org_runtime.redis, private_stream()
    dead = AuditConsumer(redis, org_runtime.sessionmaker, streams=(stream,), name="dies", block_ms=10)
    await dead.ensure_groups()
    event = an_event()
    await publish(redis, stream, event)

    # Consumer A reads the message (it is now pending for A) and dies before acking it ...
    [[_, [(message_id, fields)]]] = await redis.xreadgroup(dead.group, dead.name, {stream: ">"}, count=1)
    if crash == "after_insert":  # ... possibly after its insert committed.
        await dead.handle(Event.model_validate(orjson.loads(fields[b"event"])))
        assert await count_entries(org_runtime, event.id) == 1
    else:
        assert await count_entries(org_runtime, event.id) == 0
    pending = await redis.xpending_range(stream, dead.group, min="-", max="+", count=10)
    assert [(p["message_id"], p["consumer"]) for p in pending] == [(message_id, b"dies")]

    # Consumer B re-claims what A left pending and records it: once.
    survivor = AuditConsumer(
        redis, org_runtime.sessionmaker, streams=(stream,), name="survives", block_ms=10, claim_idle_ms=0
    )
    assert await survivor.consume_once(block_ms=10) == 1
    assert await count_entries(org_runtime, event.id) == 1
    assert await redis.xpending_range(stream, dead.group, min="-", max="+", count=10) == []
    assert await survivor.consume_once(block_ms=10) == 0
    assert await count_entries(org_runtime, event.id) == 1
    await redis.delete(stream)


async def test_the_same_event_handled_twice_is_recorded_once(org_runtime):
    consumer = AuditConsumer(
        org_runtime.redis, org_runtime.sessionmaker, streams=(private_stream(),), name="t"
    )
    event = an_event()
    await consumer.handle(event)
    await consumer.handle(event)
    assert await count_entries(org_runtime, event.id) == 1
    async with org_runtime.transaction() as session:
        assert await record(session, event) is False  # the primary key says "already recorded"


async def test_redelivery_after_the_dedupe_marker_expired_is_still_recorded_once(org_runtime):
    redis, stream = org_runtime.redis, private_stream()
    consumer = AuditConsumer(redis, org_runtime.sessionmaker, streams=(stream,), name="t", block_ms=10)
    await consumer.ensure_groups()
    event = an_event()
    await publish(redis, stream, event)
    assert await consumer.consume_once(block_ms=10) == 1
    await redis.delete(f"consumed:{consumer.group}:{event.id}")  # as if its TTL had passed
    await publish(redis, stream, event)  # the relay published it again (commit after XADD failed)
    assert await consumer.consume_once(block_ms=10) == 1
    assert await count_entries(org_runtime, event.id) == 1
    await redis.delete(stream)


def test_redaction_keeps_no_secret_and_nothing_of_mail():
    mail = mail_event(
        "organizations", to="a@b.dev", subject="Join", body="Token: s3cret", kind="organization_invitation"
    )
    assert redact(mail.payload) == {}
    payload = {
        "role": "student",
        "token": "x",
        "nested": {"client_secret": "y", "keep": 1},
        "list": [{"password": "p"}],
    }
    assert redact(payload) == {"role": "student", "nested": {"keep": 1}, "list": [{}]}


async def deliver(runtime) -> None:
    """Relay every domain's outbox and run the audit consumer over what is there (the e2e worker, when
    running, may take some of these messages: the entries appear either way)."""
    relay = OutboxRelay(runtime.sessionmaker, runtime.redis, outboxes())
    consumer = AuditConsumer(runtime.redis, runtime.sessionmaker, name="tests", block_ms=10)
    await consumer.ensure_groups()
    while await relay.relay_once():
        pass
    while await consumer.consume_once(block_ms=10):
        pass


async def wait_for_entries(
    runtime, *conditions: Any, count: int = 1, timeout: float = 20
) -> list[AuditLogEntry]:
    deadline = time.monotonic() + timeout
    while True:
        await deliver(runtime)
        async with runtime.transaction() as session:
            rows = list((await session.scalars(select(AuditLogEntry).where(*conditions))).all())
        if len(rows) >= count:
            return rows
        assert time.monotonic() < deadline, f"expected {count} audit entries, found {len(rows)}"
        await asyncio.sleep(0.05)


# --- what entries carry ---------------------------------------------------------------------------


async def test_a_data_change_is_recorded_with_actor_org_action_subject_time_request_and_ip(
    org_gql, org_runtime, minter
):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    member = await minter.member(org_id, "student")
    request_id = f"req-{uuid.uuid4().hex}"
    before = datetime.now(UTC)
    removed = await org_gql(
        REMOVE,
        {"input": {"organizationId": org_id, "userId": member.id}},
        token=admin.token,
        headers={"x-request-id": request_id, "x-forwarded-for": "203.0.113.50"},
    )
    membership_id = removed["data"]["removeMember"]["membership"]["id"]

    [entry] = await wait_for_entries(
        org_runtime,
        AuditLogEntry.action == "organizations.membership.removed",
        AuditLogEntry.subject_ids["user_id"].astext == member.id,
    )
    assert entry.actor_id == admin.id
    assert str(entry.organization_id) == org_id
    assert entry.subject_ids == {"user_id": member.id, "membership_id": membership_id}
    assert entry.request_id == request_id
    assert entry.source_ip == "203.0.113.50"
    assert before - timedelta(seconds=5) <= entry.occurred_at <= datetime.now(UTC)
    assert entry.detail == {"role": "student"}


async def test_authorization_failures_of_every_subgraph_are_recorded(org_gql, gql, org_runtime, minter):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    student = await minter.member(org_id, "student")
    request_id = f"req-{uuid.uuid4().hex}"
    headers = {"x-request-id": request_id, "x-forwarded-for": "203.0.113.60"}
    union = await org_gql(
        UPDATE_ORG, {"input": {"id": org_id, "name": "Mine"}}, token=student.token, headers=headers
    )
    assert union["data"]["updateOrganization"]["code"] == "FORBIDDEN"
    top_level = await org_gql(MEMBERS, {"org": org_id}, token=student.token, headers=headers)
    assert top_level["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # The users subgraph records its refusals through its own outbox, the same way.
    users_request = f"req-{uuid.uuid4().hex}"
    refused = await gql(
        "query($o: ID!) { apiClients(organizationId: $o) { id } }",
        {"o": org_id},
        token=student.token,
        headers={"x-request-id": users_request, "x-forwarded-for": "203.0.113.61"},
    )
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    entries = await wait_for_entries(
        org_runtime,
        AuditLogEntry.action == "organizations.authz.denied",
        AuditLogEntry.request_id == request_id,
        count=2,
    )
    by_field = {e.detail["field"]: e for e in entries}
    assert set(by_field) == {"updateOrganization", "members"}
    for entry in entries:
        assert entry.actor_id == student.id and str(entry.organization_id) == org_id
        assert entry.source_ip == "203.0.113.60" and entry.detail["code"] == "FORBIDDEN"
    assert by_field["updateOrganization"].detail["permission"] == "manage_organization"
    assert by_field["members"].detail["permission"] == "view_users"

    [users_entry] = await wait_for_entries(
        org_runtime, AuditLogEntry.action == "users.authz.denied", AuditLogEntry.request_id == users_request
    )
    assert users_entry.actor_id == student.id and str(users_entry.organization_id) == org_id
    assert users_entry.source_ip == "203.0.113.61" and users_entry.detail["field"] == "apiClients"


async def test_authentication_attempts_are_recorded(gql, mailbox, org_runtime, unique_email):
    email = unique_email("audited")
    await register_verified(gql, mailbox, email)
    failed = await gql(
        LOGIN,
        {"input": {"email": email, "password": "wrong " + TEST_PASSWORD}},
        headers={"x-forwarded-for": "192.0.2.9"},
    )
    assert failed["data"]["login"]["__typename"] == "InvalidCredentialsError"
    ok = await gql(
        LOGIN,
        {"input": {"email": email, "password": TEST_PASSWORD}},
        headers={"x-forwarded-for": "192.0.2.9"},
    )
    user_id = ok["data"]["login"]["user"]["id"]

    entries = await wait_for_entries(
        org_runtime,
        AuditLogEntry.action.in_(["users.auth.login_failed", "users.auth.login_succeeded"]),
        AuditLogEntry.subject_ids["user_id"].astext == user_id,
        count=2,
    )
    assert sorted(e.action for e in entries) == ["users.auth.login_failed", "users.auth.login_succeeded"]
    assert {e.source_ip for e in entries} == {"192.0.2.9"}
    assert next(e for e in entries if e.action.endswith("failed")).detail == {"reason": "wrong_password"}


async def test_mail_is_recorded_without_its_content(org_gql, org_runtime, minter):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    request_id = f"req-{uuid.uuid4().hex}"
    invited = await org_gql(
        INVITE_ONLY,
        {"o": org_id, "e": "m@learners.coursegraph.dev"},
        token=admin.token,
        headers={"x-request-id": request_id},
    )
    assert invited["data"]["inviteMember"]["__typename"] == "InviteMemberSuccess"
    entries = await wait_for_entries(org_runtime, AuditLogEntry.request_id == request_id, count=2)
    by_action = {e.action: e for e in entries}
    assert by_action["organizations.mail.requested"].detail == {}
    assert str(by_action["organizations.mail.requested"].organization_id) == org_id
    assert by_action["organizations.invitation.created"].detail["email"] == "m@learners.coursegraph.dev"
    assert "token" not in orjson.dumps([e.detail for e in entries]).decode().lower()


# --- the auditLog query ---------------------------------------------------------------------------


# The fixture's entries are dated 2030; the organization's real events (recorded by whichever audit
# consumer runs, e.g. the e2e platform's worker) are dated now and stay out of this window.
FIXTURE_YEAR = {"since": "2030-01-01T00:00:00+00:00", "until": "2031-01-01T00:00:00+00:00"}


@pytest.fixture
async def audited_org(org_runtime, minter) -> dict:
    """An organization with five entries at known times (inserted as the consumer would)."""
    admin = await minter.user()
    org_id = await minter.organization(admin)
    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())
    start = datetime(2030, 1, 1, tzinfo=UTC)
    specs = [
        (alice, "organizations.track.created", 0),
        (bob, "organizations.track.updated", 1),
        (alice, "organizations.membership.added", 2),
        (bob, "users.auth.login_failed", 3),
        (alice, "organizations.track.created", 4),
    ]
    ids = []
    async with org_runtime.transaction() as session:
        for actor, action, hour in specs:
            event = an_event(
                type=action, actor_id=actor, organization_id=org_id, occurred_at=start + timedelta(hours=hour)
            )
            await record(session, event)
            ids.append(str(event.id))
    return {"id": org_id, "admin": admin, "alice": alice, "bob": bob, "start": start, "ids": ids}


async def audit_ids(org_gql, token: str, org_id: str | None, **variables: Any) -> list[str]:
    body = await org_gql(AUDIT_LOG, {"org": org_id, **variables}, token=token)
    assert "errors" not in body, body
    return [edge["node"]["id"] for edge in body["data"]["auditLog"]["edges"]]


async def test_audit_log_filters_by_actor_action_and_time(org_gql, audited_org):
    org, token, ids = audited_org["id"], audited_org["admin"].token, audited_org["ids"]
    since = (audited_org["start"] + timedelta(hours=1)).isoformat()
    until = (audited_org["start"] + timedelta(hours=4)).isoformat()
    window = {"since": since, "until": until}
    assert await audit_ids(org_gql, token, org, filter={"actor": audited_org["alice"], **window}) == [ids[2]]
    assert (
        await audit_ids(org_gql, token, org, filter={"action": "organizations.track.created", **window}) == []
    )
    assert await audit_ids(org_gql, token, org, filter={"action": "organizations.track.created"}) == [
        ids[4],
        ids[0],
    ]
    assert await audit_ids(org_gql, token, org, filter={"action": "organizations.track.*", **window}) == [
        ids[1]
    ]
    assert await audit_ids(org_gql, token, org, filter=window) == [ids[3], ids[2], ids[1]]
    assert await audit_ids(org_gql, token, org, filter={"actor": audited_org["bob"]}) == [ids[3], ids[1]]


async def test_audit_log_pages_newest_first(org_gql, audited_org):
    org, token = audited_org["id"], audited_org["admin"].token
    seen: list[str] = []
    after = None
    while True:
        body = await org_gql(
            AUDIT_LOG,
            {"org": org, "first": 2, "after": after, "filter": FIXTURE_YEAR},
            token=token,
        )
        page = body["data"]["auditLog"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == list(reversed(audited_org["ids"]))


async def test_audit_log_needs_view_audit_logs_in_that_organization(org_gql, audited_org, minter):
    org = audited_org["id"]
    instructor = await minter.member(
        org, "instructor", platform_role="site_admin" if False else "organization_admin"
    )
    refused = await org_gql(AUDIT_LOG, {"org": org}, token=instructor.token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    client = await minter.client(org, ["view_audit_logs"])
    assert len(await audit_ids(org_gql, client.token, org, filter=FIXTURE_YEAR)) == 5
    # The platform-wide log (no organization) is for site admins only.
    platform = await org_gql(AUDIT_LOG, {"org": None}, token=audited_org["admin"].token)
    assert platform["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    site_admin = await minter.user("site_admin")
    everything = await audit_ids(org_gql, site_admin.token, None, filter={"actor": audited_org["alice"]})
    assert set(audited_org["ids"][i] for i in (0, 2, 4)) <= set(everything)
