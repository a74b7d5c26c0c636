"""A subgraph's HTTP edge (core/http_limits.py) on a real uvicorn: body size, slow bodies, JSON nesting."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from subgraphs.core.http_limits import json_nested_deeper_than
from tests import raw_http
from tests.services import uvicorn_serving

BODY_TIMEOUT = 1.0


@pytest.fixture
async def users_url(settings) -> AsyncIterator[str]:
    from subgraphs.users.app import create_app

    limits = settings.graphql.model_copy(update={"body_timeout_seconds": BODY_TIMEOUT})
    app = create_app(settings.model_copy(update={"graphql": limits}))
    async with uvicorn_serving(app, lifespan="on") as port:
        yield f"http://127.0.0.1:{port}"


def nested(depth: int) -> bytes:
    """A GraphQL request whose (unused) variable is an array nested so the document is `depth` deep."""
    inner = "[" * (depth - 2) + "]" * (depth - 2)
    return f'{{"query": "{{ __typename }}", "variables": {{"a": {inner}}}}}'.encode()


async def test_body_over_the_limit_is_413(users_url, settings):
    limit = settings.graphql.max_body_bytes
    padded = b'{"query": "{ __typename }"' + b" " * limit + b"}"
    pieces = [padded[start : start + 65536] for start in range(0, len(padded), 65536)]
    json_type = {"Content-Type": "application/json"}
    declared = await raw_http.post(
        users_url, "/graphql", {**json_type, "Content-Length": str(len(padded))}, pieces
    )
    # No Content-Length: counted while it arrives.
    streamed = await raw_http.post(
        users_url, "/graphql", {**json_type, "Transfer-Encoding": "chunked"}, raw_http.chunked(pieces)
    )
    for answer in (declared, streamed):
        assert raw_http.status_of(answer) == 413, answer[:300]
        assert b"PAYLOAD_TOO_LARGE" in answer
    async with httpx.AsyncClient(base_url=users_url, timeout=30) as http:
        fits = await http.post("/graphql", json={"query": "{ __typename }"})
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
    and closes the connection (raw_http.post returns only once it is closed, else times out at 15 s)."""
    body = b'{"query": "{ __typename }"}'.ljust(100)
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    answer = await raw_http.post(
        users_url, "/graphql", headers, [bytes([b]) for b in body], pace=0.2, timeout=15
    )
    assert raw_http.status_of(answer) == 408, answer[:200]
    assert b"REQUEST_TIMEOUT" in answer


def test_json_depth_counts_brackets_outside_strings_only():
    assert not json_nested_deeper_than(b'{"a": "[[[[[[[[[[", "b": "\\"[[[["}', 2)
    assert json_nested_deeper_than(b'{"a": [[1]]}', 2)
    assert not json_nested_deeper_than(b'{"a": [1], "b": {"c": 2}}', 2)
