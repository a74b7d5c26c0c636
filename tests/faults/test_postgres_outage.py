"""PostgreSQL unreachable for 10 s (issue 16), on a PostgreSQL instance this test owns: every answer
meanwhile is a typed, retryable error (never a masked INTERNAL one), and without any manual step the
subgraph answers normally again once the database is back (its pool drops dead connections: pre-ping).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import httpx

from subgraphs.core.settings import get_settings
from subgraphs.tooling.embedded import EmbeddedPostgres
from tests.conftest import TEST_PASSWORD
from tests.services import free_port
from tests.subgraphs.users.test_auth_flow import LOGIN

OUTAGE_SECONDS = 10


async def _migrated(server: EmbeddedPostgres) -> str:
    from subgraphs.tooling.migrations import migrate_database

    url = await asyncio.to_thread(server.start)
    await asyncio.to_thread(migrate_database, url)
    return url


async def test_postgres_unreachable_for_ten_seconds(tmp_path: Path):
    from subgraphs.users.app import create_app

    server = EmbeddedPostgres(tmp_path / "own-postgres", port=free_port())
    try:
        settings = get_settings().model_copy(deep=True)
        settings.database.url = await _migrated(server)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50003))
            async with httpx.AsyncClient(transport=transport, base_url="http://users.test") as client:

                async def login() -> dict:
                    variables = {"input": {"email": "nobody@example.com", "password": TEST_PASSWORD}}
                    response = await client.post("/graphql", json={"query": LOGIN, "variables": variables})
                    return response.json()

                assert (await login())["data"]["login"]["code"] == "INVALID_CREDENTIALS"

                await asyncio.to_thread(server.stop)
                codes: Counter[str] = Counter()
                down_until = time.monotonic() + OUTAGE_SECONDS
                while time.monotonic() < down_until:
                    body = await login()
                    for error in body.get("errors") or []:
                        codes[error["extensions"]["code"]] += 1
                        assert error["extensions"].get("retryable") is True, error
                    await asyncio.sleep(0.25)
                back = time.monotonic()
                await asyncio.to_thread(server.start)
                while True:
                    body = await login()
                    if not body.get("errors"):
                        break
                    assert time.monotonic() - back < 30, body
                    await asyncio.sleep(0.1)
                print(
                    f"\nPostgreSQL down {OUTAGE_SECONDS} s: answers meanwhile {dict(codes)}; "
                    f"answering normally {time.monotonic() - back:.2f} s after it was back"
                )
                assert set(codes) == {"UNAVAILABLE"}
                assert body["data"]["login"]["code"] == "INVALID_CREDENTIALS"
    finally:
        server.stop()
