"""Runs inside a lab's bubblewrap sandbox (stdlib only: the sandbox sees this one file, not the project).

    python lab_relay.py --listen-fd 3 --port 8888 -- <IDE argv>

The sandbox has a network namespace of its own with nothing but loopback, so the IDE it starts listens on
127.0.0.1:<port> where nothing outside can reach it. The runtime hands in one socket it bound and
listens on in the host's namespace (a socket belongs to the namespace it was made in): this relay accepts
the platform's proxy connections on it and joins each to the IDE. The lab itself can open no connection
anywhere. The relay ends with the IDE, with its exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import subprocess
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _serve(listener: socket.socket, port: int, ide: subprocess.Popen) -> None:
    async def join(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            ide_r, ide_w = await asyncio.open_connection("127.0.0.1", port)
        except OSError:  # the IDE does not listen yet: the client (a health check) tries again
            client_w.close()
            return
        await asyncio.gather(_pipe(client_r, ide_w), _pipe(ide_r, client_w))

    server = await asyncio.start_server(join, sock=listener, backlog=128)
    loop = asyncio.get_running_loop()
    # SIGTERM reaches the IDE too (one process group); the relay waits for it to end.
    loop.add_signal_handler(signal.SIGTERM, lambda: None)
    await loop.run_in_executor(None, ide.wait)
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen-fd", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("argv", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    listener = socket.socket(fileno=args.listen_fd)
    ide = subprocess.Popen(argv, pass_fds=())  # the listening socket stays the relay's
    asyncio.run(_serve(listener, args.port, ide))
    code = ide.returncode
    sys.exit(128 - code if code < 0 else code)


if __name__ == "__main__":
    main()
