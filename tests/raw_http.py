"""A raw HTTP/1.1 client for the edge-limit tests: it sends a request piece by piece and keeps what the
server answers even when the server closes (or resets) the connection before the body is sent.

httpx cannot be used there: a server that refuses a body answers and closes while the client is still
sending, and the client then loses the answer to a write error or a reset. At the socket level the
answer that arrived before the reset is still read first.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable


def chunked(pieces: Iterable[bytes]) -> Iterable[bytes]:
    """`pieces` framed as a chunked body (no Content-Length: the server counts while it reads)."""
    for piece in pieces:
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


async def post(
    url: str,
    path: str,
    headers: dict[str, str],
    pieces: Iterable[bytes],
    *,
    pace: float = 0.0,
    timeout: float = 30.0,
) -> bytes:
    """POST `pieces` (one every `pace` seconds: the attack's pace, not a wait for the server); stop sending
    once the server answers and return everything it sent until it closed the connection. A server that
    neither answers nor closes within `timeout` fails the caller with TimeoutError."""
    host, port = url.removeprefix("http://").split(":")
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    await loop.sock_connect(sock, (host, int(port)))
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    answered = asyncio.Event()

    async def send() -> None:
        try:
            await loop.sock_sendall(sock, head.encode() + b"\r\n")
            for piece in pieces:
                if answered.is_set():
                    return
                await loop.sock_sendall(sock, piece)
                if pace:
                    await asyncio.sleep(pace)
        except OSError:
            return  # the server closed: its answer is read below

    sender = asyncio.create_task(send())
    received = bytearray()
    try:
        async with asyncio.timeout(timeout):
            while True:
                try:
                    data = await loop.sock_recv(sock, 65536)
                except ConnectionResetError:
                    break
                if not data:
                    break
                received += data
                answered.set()
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        sock.close()
    return bytes(received)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
