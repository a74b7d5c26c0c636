"""`accountEvents` streams through the router over WebSocket and SSE, and resumes with `after`; one caller's
subscriptions share one upstream connection, callers never share one."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path
from urllib.parse import urlparse

import pytest
import websockets

from tests.conftest import TEST_PASSWORD
from tests.e2e.helpers import signed_in_student
from tests.subgraphs.users.test_auth_flow import LOGIN

pytestmark = pytest.mark.e2e

SUBSCRIPTION = "subscription($after: Int) { accountEvents(after: $after) { seq kind } }"


class WsSubscription:
    """A minimal graphql-transport-ws client."""

    def __init__(self, url: str, token: str, after: int | None) -> None:
        self.url, self.token, self.after = url, token, after

    async def __aenter__(self) -> WsSubscription:
        self.ws = await websockets.connect(self.url, subprotocols=["graphql-transport-ws"])
        await self.ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}})
        )
        ack = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        payload = {"query": SUBSCRIPTION, "variables": {"after": self.after}}
        await self.ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        return self

    async def next_event(self, timeout: float = 15) -> dict:
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if message["type"] == "next":
                assert not message["payload"].get("errors"), message
                return message["payload"]["data"]["accountEvents"]
            if message["type"] in ("error", "complete"):
                raise AssertionError(message)

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()


async def _sign_in_again(router_gql, email: str) -> None:
    body = await router_gql(LOGIN, {"input": {"email": email, "password": TEST_PASSWORD}})
    assert body["data"]["login"]["__typename"] == "LoginSuccess", body


async def test_account_events_stream_live_and_resume_over_websocket(platform, router_gql, unique_email):
    email_holder = []

    def remember(prefix="student"):
        email_holder.append(unique_email(prefix))
        return email_holder[-1]

    token = await signed_in_student(router_gql, remember)
    email = email_holder[0]
    ws_url = platform.router_url.replace("http", "ws") + "/graphql"

    # Replay: the first sign-in (seq 1) is already stored.
    async with WsSubscription(ws_url, token, after=0) as sub:
        first = await sub.next_event()
        assert first == {"seq": 1, "kind": "SIGNED_IN"}
        # Live: a new sign-in elsewhere arrives on the open subscription.
        await _sign_in_again(router_gql, email)
        second = await sub.next_event()
        assert second == {"seq": 2, "kind": "SIGNED_IN"}

    # Resume after the last seen seq: events that happened while disconnected arrive, nothing repeats.
    await _sign_in_again(router_gql, email)
    async with WsSubscription(ws_url, token, after=2) as sub:
        assert await sub.next_event() == {"seq": 3, "kind": "SIGNED_IN"}


async def test_account_events_stream_over_sse(platform, router_http, router_gql, unique_email):
    emails = []
    token = await signed_in_student(
        router_gql, lambda p="student": emails.append(unique_email(p)) or emails[-1]
    )
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    body = {"query": SUBSCRIPTION, "variables": {"after": 0}}
    async with router_http.stream("POST", "/graphql", json=body, headers=headers) as response:
        assert response.status_code == 200
        events = []

        async def read() -> None:
            async for line in response.aiter_lines():
                if line.startswith("data:") and line[5:].strip():
                    events.append(json.loads(line[5:])["data"]["accountEvents"])
                    if len(events) == 2:
                        return

        reader = asyncio.create_task(read())
        await _sign_in_again(router_gql, emails[0])
        await asyncio.wait_for(reader, 15)
    assert events == [{"seq": 1, "kind": "SIGNED_IN"}, {"seq": 2, "kind": "SIGNED_IN"}]


async def test_subscription_refused_without_token(platform):
    ws_url = platform.router_url.replace("http", "ws") + "/graphql"
    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ack["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))
        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert message["type"] in ("error", "next"), message
        errors = message["payload"] if message["type"] == "error" else message["payload"].get("errors")
        assert errors, message


def connections_to(pid: int, port: int) -> int:
    """Established TCP connections of process `pid` to `port`: its sockets' inodes in /proc/net/tcp*."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            count += fields[3] == "01" and remote_port == port and fields[9] in inodes
    return count


async def test_one_callers_subscriptions_share_an_upstream_connection_and_callers_never_do(
    platform, router_gql, unique_email
):
    emails = []

    def remember(prefix="student"):
        emails.append(unique_email(prefix))
        return emails[-1]

    alice = await signed_in_student(router_gql, remember)
    bob = await signed_in_student(router_gql, remember)
    await _sign_in_again(router_gql, emails[1])  # Bob's stream holds seq 1 and 2, Alice's only 1
    assert (await router_gql("{ me { id } }", token=alice))["data"]["me"], "warm the router's JWKS"
    assert platform.supervisor is not None
    router, users = platform.supervisor.pid("router"), urlparse(platform.subgraph_urls["users"]).port
    assert users is not None
    ws_url = platform.router_url.replace("http", "ws") + "/graphql"
    before = connections_to(router, users)  # the router's HTTP connections to the users subgraph
    async with contextlib.AsyncExitStack() as stack:
        alices = [await stack.enter_async_context(WsSubscription(ws_url, alice, after=0)) for _ in range(6)]
        bobs = [await stack.enter_async_context(WsSubscription(ws_url, bob, after=0)) for _ in range(4)]
        for sub in alices:
            assert await sub.next_event() == {"seq": 1, "kind": "SIGNED_IN"}
        for sub in bobs:
            assert [await sub.next_event(), await sub.next_event()] == [
                {"seq": 1, "kind": "SIGNED_IN"},
                {"seq": 2, "kind": "SIGNED_IN"},
            ]
        # Ten client connections: one upstream WebSocket per caller (before: one per subscription).
        assert connections_to(router, users) <= before + 2
        # Live events reach their own caller's streams only: Alice's next is her seq 2, Bob's his seq 3.
        await _sign_in_again(router_gql, emails[0])
        await _sign_in_again(router_gql, emails[1])
        for sub in alices:
            assert await sub.next_event() == {"seq": 2, "kind": "SIGNED_IN"}
        for sub in bobs:
            assert await sub.next_event() == {"seq": 3, "kind": "SIGNED_IN"}
