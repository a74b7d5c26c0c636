"""One WebSocket connection, many operations (core/app.py `OperationContexts`): the router sends every
subscription of one caller over one connection, so each operation has its own context and request id (from
`extensions.requestId`), and one that starts after the caller's session ended is refused. Real uvicorn,
real tokens and Redis sessions."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
import strawberry
import websockets

from subgraphs.core.app import create_subgraph_app
from subgraphs.core.auth import SESSION_KEY
from subgraphs.core.settings import get_settings
from subgraphs.core.ws_protocol import SubgraphWebSockets
from subgraphs.users.keys import SigningKeys
from tests.conftest import production_settings
from tests.services import uvicorn_serving
from tests.subgraphs.organizations.factories import Caller, Minter


@strawberry.type
class Query:
    ok: bool = True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def seen(self, info: strawberry.Info) -> AsyncIterator[str]:
        """What this operation's context is: its request id, its identity, its caller; then it stays open."""
        context = info.context
        yield f"{context.request_id} {id(context)} {context.principal.subject}"
        await asyncio.Event().wait()

    @strawberry.subscription
    async def headers_kept(self, info: strawberry.Info) -> AsyncIterator[int]:
        """How many of the upgrade request's headers the connection still holds."""
        yield len(info.context.request.scope["headers"]) + len(info.context.request.headers)
        await asyncio.Event().wait()


SEEN = "subscription { seen }"


@pytest.fixture
async def served() -> AsyncIterator[tuple[str, Any]]:
    app = create_subgraph_app(
        "wstest",
        strawberry.Schema(query=Query, subscription=Subscription),
        key_loader_factory=lambda s: SigningKeys(s).get_public,
    )
    async with uvicorn_serving(app, ws=SubgraphWebSockets) as port:
        yield f"ws://127.0.0.1:{port}/graphql", app.state.runtime


async def connected(url: str, caller: Caller) -> websockets.ClientConnection:
    ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"])  # type: ignore[arg-type]
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {caller.token}"}})
    )
    assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
    return ws


async def subscribe(ws: websockets.ClientConnection, op: str, extensions: dict | None = None) -> dict:
    payload: dict[str, Any] = {"query": SEEN, **({"extensions": extensions} if extensions else {})}
    await ws.send(json.dumps({"id": op, "type": "subscribe", "payload": payload}))
    message = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert message["id"] == op, message
    return message


async def test_each_operation_has_its_own_context_and_request_id(served):
    url, runtime = served
    caller = await Minter(get_settings(), runtime).user()
    async with await connected(url, caller) as ws:
        seen = {}
        for op, extensions in [("a", {"requestId": "req-a"}), ("b", {"requestId": "req-b"}), ("c", None)]:
            message = await subscribe(ws, op, extensions)
            assert message["type"] == "next", message
            seen[op] = message["payload"]["data"]["seen"].split()
        bad = await subscribe(ws, "d", {"requestId": "<script>"})  # unsafe: replaced, as in a header
        seen["d"] = bad["payload"]["data"]["seen"].split()
    assert seen["a"][0] == "req-a" and seen["b"][0] == "req-b"
    assert re.fullmatch(r"[0-9a-f]{32}", seen["c"][0]) and re.fullmatch(r"[0-9a-f]{32}", seen["d"][0])
    assert len({ids[1] for ids in seen.values()}) == 4  # four contexts
    assert {ids[2] for ids in seen.values()} == {caller.id}  # one caller: the connection's


async def test_an_operation_after_logout_on_an_open_connection_is_refused(served):
    url, runtime = served
    caller = await Minter(get_settings(), runtime).user()
    async with await connected(url, caller) as ws:
        assert (await subscribe(ws, "before"))["type"] == "next"
        await runtime.redis.delete(SESSION_KEY.format(sid=caller.principal.session_id))  # logout
        refused = await subscribe(ws, "after")
    assert refused["type"] == "error", refused
    assert refused["payload"][0]["extensions"]["code"] == "INVALID_TOKEN", refused


async def test_a_bad_token_on_the_upgrade_request_is_refused_not_a_server_error(served):
    url, _ = served
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(
            url,
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            additional_headers={"Authorization": "Bearer not-a-token"},
        )
    assert refused.value.response.status_code == 403


async def test_the_connection_lets_the_upgrade_headers_go_once_it_is_open(served):
    url, runtime = served
    caller = await Minter(get_settings(), runtime).user()
    async with await connected(url, caller) as ws:
        await ws.send(
            json.dumps({"id": "h", "type": "subscribe", "payload": {"query": "subscription { headersKept }"}})
        )
        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert message["payload"]["data"] == {"headersKept": 0}, message
        assert (await subscribe(ws, "after"))["type"] == "next"  # and it still serves operations


async def test_in_production_a_websocket_without_the_router_secret_is_refused():
    secret = secrets.token_urlsafe(32)
    settings = production_settings(secret)
    app = create_subgraph_app(
        "wstest",
        strawberry.Schema(query=Query, subscription=Subscription),
        settings=settings,
        key_loader_factory=lambda s: SigningKeys(s).get_public,
    )
    async with uvicorn_serving(app, ws=SubgraphWebSockets) as port:
        url = f"ws://127.0.0.1:{port}/graphql"
        caller = await Minter(settings, app.state.runtime).user()
        for headers in ({}, {"x-coursegraph-router-secret": "wrong"}):
            with pytest.raises(websockets.InvalidStatus) as refused:
                await websockets.connect(
                    url, subprotocols=["graphql-transport-ws"], additional_headers=headers
                )  # type: ignore[list-item]
            assert refused.value.response.status_code == 403
        async with websockets.connect(
            url,
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            additional_headers={"x-coursegraph-router-secret": secret},
        ) as ws:
            await ws.send(
                json.dumps(
                    {"type": "connection_init", "payload": {"authorization": f"Bearer {caller.token}"}}
                )
            )
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
