"""Benchmark: how fast a membership change reaches authorization in another subgraph, and what
`authorize` costs per request.

    uv run python tests/perf/bench_membership_revocation.py [--rounds 50]

Self-contained: a fresh database (PostgreSQL and Redis on 127.0.0.1, else embedded ones, as the tests),
the organizations and users subgraphs in-process (ASGI), tokens issued as the users subgraph issues them.
The "other subgraph" is the users subgraph: `apiClients(organizationId)` authorizes with the same
core.rbac.authorize (MANAGE_ORGANIZATION), reading the projection through its own Redis connection.

Prints, per round (a member who is an organization admin is removed / demoted while a poller hammers the
users subgraph with that member's already-issued token):
  - commit -> projection written: from the COMMIT of the change (SQLAlchemy commit event on the
    organizations engine) to the end of the write-through (Redis pipeline done);
  - commit -> first refusal seen: to the END of the first users-subgraph request that was refused
    (upper bound of the window in which an in-flight request could still pass);
  - removeMember latency as the client sees it;
  - the repair path: the same with the write-through failing (its Redis is unreachable), so only the
    worker's consumer (relay + `authz-projection` group, default settings) updates the projection;
  - authorize cost: one HGETALL (first check of a request) and a cached check (every later one).
Figures are for reading, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.services import TEST_DB, release_redis_db, resolve_services  # noqa: E402

REMOVE = """mutation($input: RemoveMemberInput!) { removeMember(input: $input) { __typename } }"""
DEMOTE = """mutation($input: UpdateMemberRoleInput!) { updateMemberRole(input: $input) { __typename } }"""
API_CLIENTS = "query($org: ID!) { apiClients(organizationId: $org) { id } }"


def summary(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"p50 {statistics.median(ms):8.3f} ms   p95 {p95:8.3f} ms   max {ms[-1]:8.3f} ms   (n={len(ms)})"


class Poller:
    """Hammers the users subgraph with one token; records when each request ended and whether it passed."""

    def __init__(self, users: Any, token: str, org_id: str) -> None:
        self.users, self.token, self.org_id = users, token, org_id
        self.results: list[tuple[float, bool]] = []
        self._stop = asyncio.Event()

    async def run(self) -> None:
        while not self._stop.is_set():
            response = await self.users.post(
                "/graphql",
                json={"query": API_CLIENTS, "variables": {"org": self.org_id}},
                headers={"Authorization": f"Bearer {self.token}"},
            )
            body = response.json()
            self.results.append((time.perf_counter(), "errors" not in body))

    def stop(self) -> None:
        self._stop.set()

    def first_refusal_after(self, moment: float) -> float | None:
        return next((t for t, ok in self.results if t >= moment and not ok), None)


async def main(rounds: int) -> None:
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
        }
    )
    import asyncpg

    admin = await asyncpg.connect(pg_admin.replace("postgresql+asyncpg", "postgresql"))
    await admin.execute(f'CREATE DATABASE "{TEST_DB}"')
    try:
        await run(rounds)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
        await admin.close()
        release_redis_db(redis_url)
        for server in embedded:
            server.stop()


async def run(rounds: int) -> None:
    import httpx
    from sqlalchemy import event

    from subgraphs.core.context import Context, Runtime
    from subgraphs.core.db import create_engine, create_sessionmaker
    from subgraphs.core.events import OutboxRelay
    from subgraphs.core.rbac import Permission, permitted
    from subgraphs.core.settings import get_settings
    from subgraphs.organizations import memberships
    from subgraphs.organizations.app import create_app as create_organizations
    from subgraphs.organizations.authz import AuthzProjectionConsumer
    from subgraphs.organizations.models import Outbox
    from subgraphs.tooling.migrations import migrate_database
    from subgraphs.users.app import create_app as create_users
    from subgraphs.users.keys import SigningKeys
    from tests.subgraphs.organizations.factories import Minter

    await asyncio.to_thread(migrate_database)
    logging.getLogger("strawberry.execution").setLevel(logging.CRITICAL)  # every refusal is logged there
    settings = get_settings()
    orgs_app = create_organizations(settings, key_loader_factory=lambda s: SigningKeys(s).get_public)
    users_app = create_users(settings)
    async with orgs_app.router.lifespan_context(orgs_app), users_app.router.lifespan_context(users_app):
        runtime: Runtime = orgs_app.state.runtime
        minter = Minter(settings, runtime)
        owner = await minter.user()
        org_id = await minter.organization(owner)

        commits: list[float] = []
        event.listen(runtime.engine.sync_engine, "commit", lambda conn: commits.append(time.perf_counter()))
        orgs = httpx.AsyncClient(transport=httpx.ASGITransport(app=orgs_app), base_url="http://orgs")
        users = httpx.AsyncClient(transport=httpx.ASGITransport(app=users_app), base_url="http://users")

        async def one_round(mutation: str, variables: dict, member_token: str) -> tuple[float, float, float]:
            poller = Poller(users, member_token, org_id)
            task = asyncio.create_task(poller.run())
            while len(poller.results) < 3:  # noqa: ASYNC110 - the member is allowed before the change
                await asyncio.sleep(0)
            assert all(ok for _, ok in poller.results)
            commits.clear()
            started = time.perf_counter()
            body = (
                await orgs.post(
                    "/graphql",
                    json={"query": mutation, "variables": variables},
                    headers={"Authorization": f"Bearer {owner.token}"},
                )
            ).json()
            returned = time.perf_counter()
            assert body["data"] and "Success" in str(body["data"]), body
            while poller.first_refusal_after(started) is None:  # noqa: ASYNC110 - a condition, polled
                await asyncio.sleep(0)
            poller.stop()
            await task
            # The change's commit is the first commit after the request started whose effect is visible;
            # the projection write-through is the last commit before the response (its own transaction).
            change_commit, projection_commit = commits[0], commits[-1]
            refusal = poller.first_refusal_after(started)
            assert refusal is not None
            return projection_commit - change_commit, refusal - change_commit, returned - started

        written, refused, latency = [], [], []
        for i in range(rounds):
            member = await minter.member(org_id, "organization_admin")
            if i % 2 == 0:
                mutation, variables = REMOVE, {"input": {"organizationId": org_id, "userId": member.id}}
            else:
                variables = {"input": {"organizationId": org_id, "userId": member.id, "role": "STUDENT"}}
                mutation = DEMOTE
            w, r, lat = await one_round(mutation, variables, member.token)
            written.append(w)
            refused.append(r)
            latency.append(lat)

        # The repair path: the write-through cannot reach Redis; the worker's consumer fixes the projection.
        from redis.asyncio import Redis

        logging.getLogger("coursegraph.organizations").setLevel(logging.CRITICAL)  # the failure is the point
        dead = Runtime(**{**runtime.__dict__, "redis": Redis.from_url("redis://127.0.0.1:1/0")})
        # The worker: its own engine (its commits must not count as the change's), default settings.
        worker_engine = create_engine(settings)
        worker_sessions = create_sessionmaker(worker_engine)
        relay = OutboxRelay(
            worker_sessions,
            runtime.redis,
            {"organizations": Outbox},
            poll_interval=settings.events.relay_poll_interval_seconds,
        )
        projector = AuthzProjectionConsumer(
            runtime.redis, worker_sessions, block_ms=settings.events.consumer_block_ms
        )
        stop = asyncio.Event()
        worker = [asyncio.create_task(relay.run(stop)), asyncio.create_task(projector.run(stop))]
        site_admin = await minter.user("site_admin")
        repaired = []
        for _ in range(max(3, rounds // 5)):
            member = await minter.member(org_id, "organization_admin")
            poller = Poller(users, member.token, org_id)
            task = asyncio.create_task(poller.run())
            while len(poller.results) < 3:  # noqa: ASYNC110
                await asyncio.sleep(0)
            commits.clear()
            started = time.perf_counter()
            await memberships.remove_member(
                dead, site_admin.meta, organization_id=uuid.UUID(org_id), user_id=uuid.UUID(member.id)
            )
            change_commit = commits[0]
            while poller.first_refusal_after(started) is None:  # noqa: ASYNC110
                await asyncio.sleep(0.001)
            poller.stop()
            await task
            repaired.append(poller.first_refusal_after(started) - change_commit)
        stop.set()
        await asyncio.gather(*worker)
        await dead.redis.aclose()
        await worker_engine.dispose()

        # authorize: the first check of a request reads the hash (one HGETALL); later ones hit the cache.
        reader_runs, cached_runs = [], []
        member = await minter.member(org_id, "instructor")
        for _ in range(2000):
            context = Context(runtime=runtime, principal=member.principal)
            t0 = time.perf_counter()
            assert await permitted(context.caller, Permission.UPDATE_COURSES, org_id)
            t1 = time.perf_counter()
            assert await permitted(context.caller, Permission.VIEW_COURSES, org_id)
            t2 = time.perf_counter()
            reader_runs.append(t1 - t0)
            cached_runs.append(t2 - t1)
        await orgs.aclose()
        await users.aclose()

    print(f"membership change -> authorization elsewhere ({rounds} rounds, removals and demotions)")
    print(f"  commit -> projection written       {summary(written)}")
    print(f"  commit -> first refusal (users)    {summary(refused)}")
    print(f"  mutation latency (client)          {summary(latency)}")
    events = settings.events
    print(
        f"  repair path, write-through failed  {summary(repaired)}   (relay poll "
        f"{events.relay_poll_interval_seconds}s, consumer block {events.consumer_block_ms}ms)"
    )
    print("authorize per request")
    print(f"  first check (one HGETALL)          {summary(reader_runs)}")
    print(f"  later checks (cached)              {summary(cached_runs)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=50)
    asyncio.run(main(parser.parse_args().rounds))
