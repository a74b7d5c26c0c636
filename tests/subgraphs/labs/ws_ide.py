"""A tiny IDE for the proxy tests: GET /health → "ok", other GETs echo their path and query, a WebSocket
on any path echoes text ("echo:<text>") and bytes;
/never-answers never answers. Run as a lab's command by the real ProcessRuntime:

    python tests/subgraphs/labs/ws_ide.py --port 8080
"""

from __future__ import annotations

import argparse
import asyncio

from websockets.asyncio.server import serve


async def echo(ws) -> None:  # type: ignore[no-untyped-def]
    async for message in ws:
        await ws.send(f"echo:{message}" if isinstance(message, str) else message)


async def process_request(connection, request):  # type: ignore[no-untyped-def]
    if request.path.startswith("/health"):
        return connection.respond(200, "ok\n")
    if request.path == "/set-cookie":
        response = connection.respond(200, "cookie set\n")
        response.headers["Set-Cookie"] = "ide=1; Path=/; HttpOnly"
        return response
    if request.path == "/hostile-cookies":
        response = connection.respond(200, "cookies set\n")
        response.headers["Set-Cookie"] = "cg_lab=planted; Path=/"
        response.headers["Set-Cookie"] = "wide=1; Domain=example.com; Path=/"
        response.headers["Service-Worker-Allowed"] = "/"
        return response
    if request.path == "/never-answers":
        await asyncio.Future()
    if request.path == "/redirect-absolute":  # as IDEs build them from the Host header
        response = connection.respond(302, "")
        response.headers["Location"] = f"http://{request.headers['Host']}/elsewhere?x=1"
        return response
    if request.path == "/redirect":
        response = connection.respond(302, "")
        response.headers["Location"] = "/elsewhere"
        return response
    if request.headers.get("Upgrade", "").lower() != "websocket":
        cookie = request.headers.get("Cookie", "")
        auth = request.headers.get("Authorization", "")
        return connection.respond(200, f"path={request.path} cookie={cookie} auth={auth}\n")
    return None


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    async with serve(echo, "127.0.0.1", args.port, process_request=process_request):
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
