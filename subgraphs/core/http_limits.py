"""`RequestLimits`: the HTTP edge of a subgraph, the same limits as the router's (router/gateway.config.ts).

Before the app reads a request, its body must be at most `max_body_bytes` (else 413), arrive within
`body_timeout_seconds` (else 408 and the connection is closed: a client sending one byte every few seconds
holds nothing for long), and, when it is JSON, nest at most `max_json_depth` levels (else 400: Python's
parser and graphql-core recurse, so a 2,000-deep document would end in a RecursionError and a 500).
"""

from __future__ import annotations

import asyncio
import re

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def json_nested_deeper_than(body: bytes, limit: int) -> bool:
    """True when `body` (JSON) opens more than `limit` objects/arrays inside one another. Strings are
    dropped first, so brackets inside them do not count; the scan never recurses."""
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub(b"", body)):
        if bracket.group() in (b"{", b"["):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class _TooLarge(Exception):
    pass


class RequestLimits:
    """Refuses oversized, slow or too deeply nested request bodies with a JSON error (`extensions.code`)
    before the app sees them; `exempt_paths` (prefixes, e.g. the labs IDE proxy, which streams to the lab)
    pass untouched. WebSocket messages are capped by the server (`ws_max_size`, tooling/cli.py)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        body_timeout_seconds: float,
        max_json_depth: int,
        exempt_paths: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_seconds = body_timeout_seconds
        self.max_json_depth = max_json_depth
        self.exempt_paths = tuple(p.rstrip("/") for p in exempt_paths)

    def _exempt(self, path: str) -> bool:
        return any(path == p or path.startswith(p + "/") for p in self.exempt_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await _refuse(send, 413, "PAYLOAD_TOO_LARGE", self._too_large_message())
            return
        try:
            async with asyncio.timeout(self.body_timeout_seconds):
                body = await self._read_body(receive)
        except TimeoutError:
            message = f"The request body did not arrive within {self.body_timeout_seconds:g} s."
            await _refuse(send, 408, "REQUEST_TIMEOUT", message)
            return
        except _TooLarge:
            await _refuse(send, 413, "PAYLOAD_TOO_LARGE", self._too_large_message())
            return
        if b"json" in headers.get(b"content-type", b"") and json_nested_deeper_than(
            body, self.max_json_depth
        ):
            message = f"The JSON body is nested deeper than {self.max_json_depth} levels."
            await _refuse(send, 400, "BAD_REQUEST", message, close=False)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: the disconnect, for streaming responses

        await self.app(scope, replay, send)

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _too_large_message(self) -> str:
        return f"The request body is larger than {self.max_body_bytes} bytes."


async def _refuse(send: Send, status: int, code: str, message: str, *, close: bool = True) -> None:
    """A GraphQL-shaped error; `close`: the rest of the body was not read, so the connection must end."""
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
