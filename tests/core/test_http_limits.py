"""A subgraph's HTTP edge (core/http_limits.py) on a real uvicorn: body size, slow bodies, JSON nesting."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from subgraphs.core.http_limits import json_nested_deeper_than
from tests.services import free_port

BODY_TIMEOUT = 1.0


@pytest.fixture
async def users_url(settings) -> AsyncIterator[str]:
    from subgraphs.users.app import create_app

    limits = settings.graphql.model_copy(update={"body_timeout_seconds": BODY_TIMEOUT})
    app = create_app(settings.model_copy(update={"graphql": limits}))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the subgraph did not start"
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    with contextlib.suppress(Exception):
        await asyncio.wait_for(task, 10)


def nested(depth: int) -> bytes:
    """A GraphQL request whose (unused) variable is an array nested so the document is `depth` deep."""
    inner = "[" * (depth - 2) + "]" * (depth - 2)
    return f'{{"query": "{{ __typename }}", "variables": {{"a": {inner}}}}}'.encode()


async def test_body_over_the_limit_is_413(users_url, settings):
    limit = settings.graphql.max_body_bytes
    padded = b'{"query": "{ __typename }"' + b" " * limit + b"}"
    async with httpx.AsyncClient(base_url=users_url, timeout=30) as http:
        declared = await http.post("/graphql", content=padded, headers={"content-type": "application/json"})

        async def chunks():  # no Content-Length: counted while it arrives
            for start in range(0, len(padded), 65536):
                yield padded[start : start + 65536]

        streamed = await http.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
        fits = await http.post("/graphql", json={"query": "{ __typename }"})
    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert fits.status_code == 200 and fits.json()["data"] == {"__typename": "Query"}


async def test_json_nested_2000_deep_is_400_naming_the_limit(users_url, settings):
    limit = settings.graphql.max_json_depth
    async with httpx.AsyncClient(base_url=users_url, timeout=30) as http:
        deep = await http.post("/graphql", content=nested(2000), headers={"content-type": "application/json"})
        # The query and the variables object are two levels of the document itself.
        fits = await http.post(
            "/graphql", content=nested(limit - 2), headers={"content-type": "application/json"}
        )
    assert deep.status_code == 400, deep.text
    error = deep.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST" and str(limit) in error["message"]
    assert fits.status_code == 200, fits.text


async def test_slow_body_is_cut_off_and_the_connection_closed(users_url):
    """One byte every 0.2 s of a 100-byte body would take 20 s; the subgraph answers 408 after BODY_TIMEOUT
    and closes the connection."""
    body = b'{"query": "{ __typename }"}'.ljust(100)
    host, port = users_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: users\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
    )

    async def dribble() -> None:
        for byte in body:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.2)  # the attack's pace, not a wait for the server

    sending = asyncio.create_task(dribble())
    try:
        # read() returns at EOF: before the body could have arrived (20 s), the server closed the connection
        answer = await asyncio.wait_for(reader.read(), timeout=15)
    finally:
        sending.cancel()
        with contextlib.suppress(BaseException):
            await sending
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"REQUEST_TIMEOUT" in answer


def test_json_depth_counts_brackets_outside_strings_only():
    assert not json_nested_deeper_than(b'{"a": "[[[[[[[[[[", "b": "\\"[[[["}', 2)
    assert json_nested_deeper_than(b'{"a": [[1]]}', 2)
    assert not json_nested_deeper_than(b'{"a": [1], "b": {"c": 2}}', 2)
