"""Test fixtures: real PostgreSQL and Redis, the real ASGI apps, helpers to talk GraphQL and read mail."""

from __future__ import annotations

import asyncio
import importlib
import os
import secrets
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import event

from tests.services import STALE_AFTER_SECONDS, TEST_DB, TEST_DB_PREFIX, release_redis_db, resolve_services

_TMP = Path(tempfile.mkdtemp(prefix="coursegraph-tests-"))
PG_ADMIN_URL, REDIS_URL, _EMBEDDED = resolve_services(_TMP)
DATABASE_URL = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{TEST_DB}"

# Settings are read from the environment once per process: set them before any app module is imported.
os.environ.update(
    {
        "COURSEGRAPH_ENVIRONMENT": "test",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "COURSEGRAPH_DATA_DIR": str(_TMP),
        "COURSEGRAPH_AUTH__SIGNING_KEYS_FILE": str(_TMP / "keys" / "signing-keys.json"),
        "COURSEGRAPH_MAIL__DIRECTORY": str(_TMP / "mail"),
        # OWASP's floor for argon2id keeps the suite fast; production uses the stronger default.
        "COURSEGRAPH_AUTH__ARGON2_MEMORY_KIB": "19456",
        "COURSEGRAPH_AUTH__ARGON2_TIME_COST": "2",
        # Most tests share one client IP; the rate-limit tests set their own limits.
        "COURSEGRAPH_RATE_LIMITS__API_PER_PRINCIPAL": "100000",
        "COURSEGRAPH_RATE_LIMITS__LOGIN_PER_IP": "100000",
        "COURSEGRAPH_RATE_LIMITS__REGISTER_PER_IP": "100000",
        "COURSEGRAPH_RATE_LIMITS__LOGIN_PER_ACCOUNT": "1000",
        "COURSEGRAPH_RATE_LIMITS__LOGIN_PER_ACCOUNT_BACKSTOP": "100000",
        "COURSEGRAPH_RATE_LIMITS__RESET_PASSWORD_PER_IP": "100000",
        "COURSEGRAPH_RATE_LIMITS__REGISTER_NOTICE_PER_RECIPIENT": "100000",
        "COURSEGRAPH_RATE_LIMITS__PASSWORD_RESET_PER_ACCOUNT": "1000",
        "COURSEGRAPH_EVENTS__CONSUMER_BLOCK_MS": "50",
        # Few idle connections per engine: the suite holds an engine per in-process app and starts whole
        # platforms beside them, all within PostgreSQL's default 100 connections. Bursts still get overflow.
        "COURSEGRAPH_DATABASE__POOL_SIZE": "3",
        "COURSEGRAPH_DATABASE__MAX_OVERFLOW": "15",
    }
)

from subgraphs.core.settings import Settings, get_settings  # noqa: E402

TEST_PASSWORD = "correct horse battery staple"


def production_settings(router_secret: str) -> Settings:
    """Settings as production demands them (every secret set, mail over SMTP), on the test run's own
    PostgreSQL and Redis; the router's shared secret given, as tests send it."""
    return Settings(
        environment="production",
        router={"shared_secret": router_secret},
        labs={"proxy_cookie_secret": secrets.token_urlsafe(32)},
        content={"url_secret": secrets.token_urlsafe(32)},
        auth={"service_secret": secrets.token_urlsafe(32)},
        mail={"backend": "smtp"},
        database={"url": get_settings().database.url},
        redis={"url": get_settings().redis.url},
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    asyncio.run(_drop_databases(only_this_run=True))
    release_redis_db(REDIS_URL)
    for server in _EMBEDDED:
        server.stop()


async def _admin() -> asyncpg.Connection:
    return await asyncpg.connect(PG_ADMIN_URL.replace("postgresql+asyncpg", "postgresql"))


async def _drop_databases(*, only_this_run: bool) -> None:
    """Drop this run's databases (`TEST_DB` and the platforms' own, `own_database`), or (at start) those of
    crashed runs: old and with nothing connected."""
    admin = await _admin()
    try:
        if only_this_run:
            names = await admin.fetchval(
                "SELECT coalesce(array_agg(datname), '{}') FROM pg_database "
                "WHERE datname = $1 OR datname LIKE $2",
                TEST_DB,
                TEST_DB + "\\_%",
            )
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ANY($1)", names
            )
        else:
            idle = await admin.fetchval(
                "SELECT coalesce(array_agg(datname), '{}') FROM pg_database d WHERE datname LIKE $1 "
                "AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)",
                TEST_DB_PREFIX + "%",
            )
            names = [name for name in idle if _created_at(name) < time.time() - STALE_AFTER_SECONDS]
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        await admin.close()


def _created_at(name: str) -> float:
    stamp = name.removeprefix(TEST_DB_PREFIX).split("_", 1)[0]
    return float(stamp) if stamp.isdigit() else 0.0


async def _create_database(name: str = TEST_DB) -> str:
    admin = await _admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


async def own_database(name: str) -> str:
    """A migrated database of this run besides the shared one, for a platform of its own (tests/platform.py);
    dropped with the run's. Returns its URL."""
    from subgraphs.tooling.migrations import migrate_database

    url = await _create_database(f"{TEST_DB}_{name}")
    await asyncio.to_thread(migrate_database, url)
    return url


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session", autouse=True)
async def database(settings: Settings) -> None:
    """A fresh, migrated database of this run (its Redis db was claimed and emptied at start-up)."""
    from subgraphs.tooling.migrations import migrate_database

    await _drop_databases(only_this_run=False)
    await _create_database()
    await asyncio.to_thread(migrate_database)
    await mark_redis_state_complete(REDIS_URL)


async def mark_redis_state_complete(redis_url: str) -> None:
    """The Redis state that workers rebuild from PostgreSQL (core/redis_state.py) is complete for this
    empty database (the streams too: nothing was published yet); tests that run no worker would otherwise
    wait for a rebuild that never comes."""
    from redis.asyncio import Redis

    from subgraphs.core.auth import REVOKED_CLIENTS_MARKER
    from subgraphs.core.events import RELAY_MARKER
    from subgraphs.core.rbac import MEMBERSHIPS_MARKER

    redis = Redis.from_url(redis_url)
    try:
        for marker in (MEMBERSHIPS_MARKER, REVOKED_CLIENTS_MARKER, RELAY_MARKER):
            await redis.set(marker, "tests")
    finally:
        await redis.aclose()


@pytest.fixture(scope="session")
async def users_app(database: None) -> AsyncIterator[Any]:
    from subgraphs.users.app import create_app

    app = create_app(get_settings())
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="session")
async def runtime(users_app: Any) -> Any:
    return users_app.state.runtime


class GraphQLClient:
    """Posts GraphQL to an app (in-process ASGI or a real URL) and returns the decoded body."""

    def __init__(self, http: httpx.AsyncClient, path: str = "/graphql") -> None:
        self.http = http
        self.path = path

    async def __call__(
        self,
        query: str,
        variables: dict | None = None,
        *,
        token: str | None = None,
        headers: dict | None = None,
    ) -> dict[str, Any]:
        response = await self.raw(query, variables, token=token, headers=headers)
        return response.json()

    async def raw(
        self,
        query: str,
        variables: dict | None = None,
        *,
        token: str | None = None,
        headers: dict | None = None,
    ) -> httpx.Response:
        all_headers = {**(headers or {})}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        return await self.http.post(
            self.path, json={"query": query, "variables": variables or {}}, headers=all_headers
        )


@pytest.fixture
async def http(users_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=users_app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://users.test") as client:
        yield client


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)


@pytest.fixture
def unique_email() -> Any:
    return lambda prefix="user": f"{prefix}-{uuid.uuid4().hex[:10]}@learners.coursegraph.dev"


class Mailbox:
    """Delivers pending events (relay, the users worker's password-reset consumer and the mail consumer,
    in-process) and reads the mail folder."""

    def __init__(self, runtime: Any, settings: Settings) -> None:
        from subgraphs.core.domains import outboxes
        from subgraphs.core.events import OutboxRelay
        from subgraphs.core.mail import MailConsumer
        from subgraphs.users.worker import PasswordResetConsumer

        self.directory = settings.mail.directory
        self.relay = OutboxRelay(runtime.sessionmaker, runtime.redis, outboxes())
        self.resets = PasswordResetConsumer(
            runtime.redis, runtime.sessionmaker, settings, name="tests", block_ms=10
        )
        self.consumer = MailConsumer(runtime.redis, settings.mail, name="tests", block_ms=10)

    async def deliver(self) -> None:
        await self.resets.ensure_groups()
        await self.consumer.ensure_groups()
        while await self.relay.relay_once():
            pass
        while await self.resets.consume_once(block_ms=10):
            while await self.relay.relay_once():
                pass
        while await self.consumer.consume_once(block_ms=10):
            pass

    def messages_to(self, address: str) -> list[str]:
        if not self.directory.exists():
            return []
        return [
            p.read_text() for p in sorted(self.directory.glob("*.eml")) if f"To: {address}" in p.read_text()
        ]

    async def wait_for(self, address: str, kind: str, *, count: int = 1, timeout: float = 20) -> str:
        """The latest message of `kind` to `address`. Delivers what is pending itself; another worker (the
        e2e platform's) may have taken the event, so it waits for the file with a deadline."""
        deadline = time.monotonic() + timeout
        while True:
            await self.deliver()
            found = [m for m in self.messages_to(address) if f"X-CourseGraph-Kind: {kind}" in m]
            if len(found) >= count:
                return found[-1]
            assert time.monotonic() < deadline, (
                f"expected {count} {kind} mail(s) to {address}, found {len(found)}"
            )
            await asyncio.sleep(0.05)


@pytest.fixture
def mailbox(runtime: Any, settings: Settings) -> Mailbox:
    return Mailbox(runtime, settings)


def token_from_mail(message: str) -> str:
    for line in message.splitlines():
        if line.startswith("Token: "):
            return line.removeprefix("Token: ").strip()
    raise AssertionError(f"no token in mail:\n{message}")


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


def statement_counter(runtime: Any) -> Any:
    """`with counter() as c: ...; c.count`: the SQL statements `runtime`'s engine executes meanwhile."""

    @contextmanager
    def counting():
        counter = QueryCounter()
        event.listen(runtime.engine.sync_engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(runtime.engine.sync_engine, "before_cursor_execute", counter)

    return counting


@pytest.fixture
def count_queries(runtime: Any) -> Any:
    """Counts SQL statements the users app executes: `with count_queries() as counter: ...; counter.count`."""
    return statement_counter(runtime)


@asynccontextmanager
async def running_subgraph(domain: str, settings: Settings) -> AsyncIterator[Any]:
    """A subgraph's ASGI app with its lifespan running; it verifies tokens with the signing-keys file, as
    the users subgraph signs them (the fixtures of every other subgraph's tests)."""
    from subgraphs.users.keys import SigningKeys

    create_app = importlib.import_module(f"subgraphs.{domain}.app").create_app
    app = create_app(settings, key_loader_factory=lambda s: SigningKeys(s).get_public)
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def asgi_client(app: Any, domain: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling `app` in-process, from a client address of its own per subgraph."""
    from subgraphs.core.domains import SUBGRAPH_PORTS

    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 46000 + SUBGRAPH_PORTS[domain]))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{domain}.test") as client:
        yield client


@pytest.fixture(scope="session")
def fake_anthropic():  # noqa: ANN201 - a FakeAnthropic
    """A local server speaking the Anthropic Messages API (the real one is a paid service)."""
    from tests.fakes.anthropic_server import FakeAnthropic

    server = FakeAnthropic().start()
    yield server
    server.stop()
