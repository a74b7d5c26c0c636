"""uvicorn's WebSocket protocol for the subgraphs: no per-message compression on `/graphql`, and less held
per connection.

`/graphql` WebSockets come from the router (one connection per caller, on the local network):
permessage-deflate there compresses small JSON messages for nobody and costs a zlib compressor and
decompressor on both ends of every subscription (~50 KiB of the labs subgraph's ~100 KiB per subscriber,
tests/perf/trace_lab_subscribers.py). Other paths (the labs proxy: browsers on the Internet talking to
an IDE) keep uvicorn's negotiation.

A connection may stay open for hours, so what it holds is per subscriber: once the handshake is answered,
the parsed upgrade request and response (their headers, the caller's token among them) are let go, and the
receive queue and the "writable" flag are lighter than asyncio's Queue and Event (four and one deques).
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from subgraphs.core.aio import Flag, Mailbox

UNCOMPRESSED_PATHS = frozenset({"/graphql", "/graphql/"})


class SubgraphWebSockets(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Mailbox()  # pyright: ignore[reportAttributeAccessIssue]  # the methods uvicorn uses
        self.writable = Flag()  # pyright: ignore[reportAttributeAccessIssue]
        self.writable.set()

    def handle_connect(self, event: Any) -> None:
        if event.path.split("?", 1)[0] in UNCOMPRESSED_PATHS:
            self.conn.available_extensions = []  # the handshake (accept, below) offers none
        super().handle_connect(event)

    def start_keepalive(self) -> None:
        # uvicorn calls this once, right after it wrote the handshake's response: the parsed upgrade
        # request and response are not read again. The request's headers are emptied, not just dropped:
        # websockets' parser keeps the request object for the life of the connection.
        self.request.headers.clear()
        del self.request, self.response
        super().start_keepalive()
