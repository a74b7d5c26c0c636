"""Benchmark: a 100 MB file up and down through the signed URLs, and export time per format.

    uv run python tests/perf/bench_content.py [--megabytes 100] [--rounds 3] [--router]

Self-contained: a fresh database (PostgreSQL and Redis on 127.0.0.1, else embedded ones, as the tests), the
organizations and content subgraphs in-process for the GraphQL steps (requestUpload, completeUpload,
downloadUrl), and the content subgraph ALSO as its own process (`coursegraph serve content`, uvicorn) that
the bytes go through: PUT to the signed upload URL, GET of the signed download URL, over real HTTP on
127.0.0.1, filesystem backend — or, with `--router`, through the real router (Hive Gateway, started by the
bench in front of that process) on the router's origin, as browsers use the links. Prints per round:
  - upload throughput (PUT of the body, streamed from memory in 1 MiB chunks, until the answer),
  - completeUpload time (size/checksum already computed while streaming; sniff + rename),
  - download throughput (GET, the body read and discarded in chunks),
  - the content process's resident memory before, and its peak (VmHWM) after each transfer: bytes are
    streamed, so the peak must stay far below the file size.
Then the export time of a 10-module course document per format (`exports.render`; skipped while the
format writers of branch content-export are not merged). Figures are for reading, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.services import TEST_DB, release_redis_db, resolve_services  # noqa: E402

MIB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def memory_kib(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


async def main(megabytes: int, rounds: int, through_router: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="coursegraph-bench-"))
    pg_admin, redis_url, embedded = resolve_services(tmp)
    database_url = pg_admin.rsplit("/", 1)[0] + f"/{TEST_DB}"
    os.environ.update(
        {
            "COURSEGRAPH_ENVIRONMENT": "test",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "COURSEGRAPH_DATA_DIR": str(tmp),
            "COURSEGRAPH_AUTH__SIGNING_KEYS_FILE": str(tmp / "keys" / "signing-keys.json"),
            "COURSEGRAPH_MAIL__DIRECTORY": str(tmp / "mail"),
            "COURSEGRAPH_RATE_LIMITS__API_PER_PRINCIPAL": "100000000",
            "COURSEGRAPH_CONTENT__MAX_UPLOAD_BYTES": str(4 * megabytes * MIB),
        }
    )
    import asyncpg

    admin = await asyncpg.connect(pg_admin.replace("postgresql+asyncpg", "postgresql"))
    await admin.execute(f'CREATE DATABASE "{TEST_DB}"')
    try:
        await run(megabytes, rounds, through_router)
        export_times()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
        await admin.close()
        release_redis_db(redis_url)
        for server in embedded:
            server.stop()


async def start_router(content_url: str) -> tuple[Any, str]:
    """The real router in front of the content process (only /content/* is used)."""
    import httpx

    from subgraphs.core.settings import get_settings
    from subgraphs.tooling.paths import ROUTER_DIR
    from subgraphs.tooling.router import router_argv, router_env

    port = free_port()
    env = {
        **os.environ,
        **router_env(get_settings()),
        "CG_PORT": str(port),
        "CG_SUBGRAPH_URLS": f'{{"content": "{content_url}/graphql"}}',
    }
    process = await asyncio.create_subprocess_exec(
        *router_argv(), cwd=ROUTER_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as http:
        for _ in range(900):
            try:
                if (await http.get(f"{url}/readiness")).status_code == 200:
                    return process, url
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the router did not start")


async def run(megabytes: int, rounds: int, through_router: bool) -> None:
    import httpx

    from subgraphs.content.app import create_app as create_content
    from subgraphs.core.settings import get_settings
    from subgraphs.organizations.app import create_app as create_organizations
    from subgraphs.tooling.migrations import migrate_database
    from subgraphs.users.keys import SigningKeys
    from tests.subgraphs.content.helpers import COMPLETE_UPLOAD, ITEM, REQUEST_UPLOAD, announce_course
    from tests.subgraphs.organizations.factories import Minter

    await asyncio.to_thread(migrate_database)
    settings = get_settings()
    keys = lambda s: SigningKeys(s).get_public  # noqa: E731
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "subgraphs.tooling.cli", "serve", "content", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    router = None
    orgs_app = create_organizations(settings, key_loader_factory=keys)
    content_app = create_content(settings, key_loader_factory=keys)
    try:
        async with (
            orgs_app.router.lifespan_context(orgs_app),
            content_app.router.lifespan_context(content_app),
            httpx.AsyncClient(base_url=base, timeout=300) as wire,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=content_app), base_url="http://c") as gql,
        ):
            for _ in range(300):
                try:
                    if (await wire.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            transfer = wire
            if through_router:
                router, router_url = await start_router(base)
                transfer = httpx.AsyncClient(base_url=router_url, timeout=300)
            minter = Minter(settings, orgs_app.state.runtime)
            org = await minter.organization(await minter.user())
            instructor = await minter.member(org, "instructor")
            course = await announce_course(content_app.state.runtime, org)
            headers = {"Authorization": f"Bearer {instructor.token}"}

            async def call(query: str, variables: dict) -> dict:
                response = await gql.post(
                    "/graphql", json={"query": query, "variables": variables}, headers=headers
                )
                return response.json()["data"]

            size = megabytes * MIB
            via = "through the router" if through_router else "straight to the subgraph"
            print(f"file: {megabytes} MiB, filesystem backend, {via}; content process pid {process.pid}")
            print(f"content process memory at rest: {memory_kib(process.pid)['VmRSS'] / 1024:.0f} MiB RSS")
            for round_ in range(rounds):
                # New bytes each round (no dedupe shortcut), with a ZIP header: an allowed, sniffable type.
                data = b"PK\x03\x04" + os.urandom(size - 4)
                ticket = (
                    await call(
                        REQUEST_UPLOAD,
                        {
                            "input": {
                                "name": f"big-{round_}.zip",
                                "size": size,
                                "checksum": hashlib.sha256(data).hexdigest(),
                                "courseId": course,
                            }
                        },
                    )
                )["requestUpload"]
                url = urllib.parse.urlsplit(ticket["url"])

                async def body(data: bytes = data) -> Any:
                    view = memoryview(data)
                    for start in range(0, size, MIB):
                        yield bytes(view[start : start + MIB])

                before = memory_kib(process.pid)
                t0 = time.perf_counter()
                put = await transfer.put(f"{url.path}?{url.query}", content=body())
                up = time.perf_counter() - t0
                assert put.status_code == 200, put.text
                after_up = memory_kib(process.pid)
                t0 = time.perf_counter()
                done = (await call(COMPLETE_UPLOAD, {"input": {"uploadId": ticket["uploadId"]}}))[
                    "completeUpload"
                ]
                complete = time.perf_counter() - t0
                assert done["__typename"] == "ContentItemSuccess", done
                link = (await call(ITEM, {"id": done["item"]["id"]}))["contentItem"]["downloadUrl"]
                link = urllib.parse.urlsplit(link)
                t0 = time.perf_counter()
                received = 0
                async with transfer.stream("GET", f"{link.path}?{link.query}") as response:
                    async for chunk in response.aiter_raw(MIB):
                        received += len(chunk)
                down = time.perf_counter() - t0
                assert received == size
                after_down = memory_kib(process.pid)
                print(
                    f"round {round_ + 1}: upload {size / MIB / up:7.1f} MiB/s"
                    f"  completeUpload {complete * 1000:6.1f} ms"
                    f"  download {size / MIB / down:7.1f} MiB/s"
                    f"  |  RSS before {before['VmRSS'] / 1024:.0f} MiB,"
                    f" peak after upload {after_up['VmHWM'] / 1024:.0f} MiB,"
                    f" after download {after_down['VmHWM'] / 1024:.0f} MiB"
                )
            if transfer is not wire:
                await transfer.aclose()
    finally:
        for started in (router, process):
            if started is not None:
                started.terminate()
                await asyncio.wait_for(started.wait(), 10)


def export_times() -> None:
    from subgraphs.content import exports
    from subgraphs.content.exports.document import (
        CourseDocument,
        Exercise,
        ExportFormat,
        Lesson,
        Module,
        Question,
        Quiz,
    )

    render = getattr(exports, "render", None)
    if render is None:
        print("export times: skipped (exports.render comes with branch content-export)")
        return
    body = "## Section\n\nSome text with `code`.\n\n```python\nprint('hello')\n```\n\n- a\n- b\n" * 5
    doc = CourseDocument(
        title="Seeded course",
        modules=tuple(
            Module(
                title=f"Module {m}",
                lessons=tuple(Lesson(title=f"Lesson {m}.{i}", body_markdown=body) for i in range(4)),
            )
            for m in range(1, 11)
        ),
        exercises=tuple(Exercise(title=f"Exercise {i}", instructions_markdown=body) for i in range(5)),
        quizzes=tuple(
            Quiz(
                title=f"Quiz {q}",
                questions=tuple(
                    Question(type="SINGLE_CHOICE", prompt=f"Q{i}?", options=("a", "b", "c"), correct=(1,))
                    for i in range(10)
                ),
            )
            for q in range(3)
        ),
    )
    for fmt in ExportFormat:
        t0 = time.perf_counter()
        data = render(fmt, doc)
        print(
            f"export {fmt.value:17} {(time.perf_counter() - t0) * 1000:8.1f} ms  {len(data) / 1024:8.1f} KiB"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--router", action="store_true", help="through the real router")
    args = parser.parse_args()
    asyncio.run(main(args.megabytes, args.rounds, args.router))
