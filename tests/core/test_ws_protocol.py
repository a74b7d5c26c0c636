"""The subgraphs' WebSocket protocol (core/ws_protocol.py) on a real uvicorn: `/graphql` (the router's
subscriptions) is never compressed, other paths (the labs proxy) still negotiate permessage-deflate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from subgraphs.core.ws_protocol import SubgraphWebSockets
from tests.services import free_port, uvicorn_serving


async def echo_once(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())
    await websocket.close()


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    app = Starlette(
        routes=[WebSocketRoute("/graphql", echo_once), WebSocketRoute("/labs/{rest:path}", echo_once)]
    )
    async with uvicorn_serving(app, ws=SubgraphWebSockets) as port:
        yield f"ws://127.0.0.1:{port}"


async def negotiated(url: str) -> str | None:
    # The client offers permessage-deflate (websockets' default, like the router's `ws` client).
    async with websockets.connect(url, compression="deflate") as ws:
        await ws.send("x" * 1000)
        assert await ws.recv() == "x" * 1000
        assert ws.response is not None
        return ws.response.headers.get("Sec-WebSocket-Extensions")


async def test_graphql_is_not_compressed(base_url):
    assert await negotiated(f"{base_url}/graphql") is None
    assert await negotiated(f"{base_url}/graphql?x=1") is None


async def test_other_paths_keep_compression(base_url):
    extensions = await negotiated(f"{base_url}/labs/abc/")
    assert extensions is not None and "permessage-deflate" in extensions


async def test_an_open_connection_keeps_no_upgrade_headers():
    app = Starlette(routes=[WebSocketRoute("/graphql", hold_open)])
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, ws=SubgraphWebSockets, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.02)
    try:
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/graphql", additional_headers={"Authorization": "Bearer secret-token"}
        ) as ws:
            await ws.send("x")
            assert await ws.recv() == "x"
            (protocol,) = [c for c in server.server_state.connections if isinstance(c, SubgraphWebSockets)]
            assert not hasattr(protocol, "request") and not hasattr(protocol, "response")
            # websockets' parser keeps the request object itself: its headers are emptied
            frame = protocol.conn.parser.gi_frame
            assert frame is not None and len(frame.f_locals["request"].headers) == 0
            await ws.send("y")
            assert await ws.recv() == "y"  # and it still works both ways
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)


async def hold_open(websocket: WebSocket) -> None:
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(text)
