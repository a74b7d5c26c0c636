"""uvicorn's WebSocket protocol for the subgraphs: no per-message compression on `/graphql`.

`/graphql` WebSockets come from the router (one connection per caller, on the local network):
permessage-deflate there compresses small JSON messages for nobody and costs a zlib compressor and
decompressor on both ends of every subscription (~50 KiB of the labs subgraph's ~100 KiB per subscriber,
tests/perf/trace_lab_subscribers.py). Other paths (the labs proxy: browsers on the Internet talking to
an IDE) keep uvicorn's negotiation.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

UNCOMPRESSED_PATHS = frozenset({"/graphql", "/graphql/"})


class SubgraphWebSockets(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Any) -> None:
        if event.path.split("?", 1)[0] in UNCOMPRESSED_PATHS:
            self.conn.available_extensions = []  # the handshake (accept, below) offers none
        super().handle_connect(event)
