"""The worker process (`coursegraph worker`): the outbox relay, the mail consumer and every domain's
background tasks."""

from __future__ import annotations

import asyncio

from subgraphs.core.db import create_engine, create_sessionmaker
from subgraphs.core.domains import DOMAINS, WorkerDeps, outboxes, worker_tasks
from subgraphs.core.events import ConsumedLedger, OutboxRelay
from subgraphs.core.mail import MailConsumer
from subgraphs.core.redis_state import connect as connect_redis
from subgraphs.core.settings import Settings


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """The outbox relay and the event consumers of this process."""
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    redis = connect_redis(settings.redis.url)
    ev = settings.events
    relay = OutboxRelay(
        sessionmaker,
        redis,
        outboxes(),
        batch_size=ev.relay_batch_size,
        poll_interval=ev.relay_poll_interval_seconds,
        republish_window_seconds=ev.dedupe_ttl_seconds,
    )
    options = {
        "block_ms": ev.consumer_block_ms,
        "claim_idle_ms": ev.consumer_claim_idle_ms,
        "dedupe_ttl_seconds": ev.dedupe_ttl_seconds,
        "max_attempts": ev.consumer_max_attempts,
        "ledger": ConsumedLedger(sessionmaker),
    }
    deps = WorkerDeps(redis=redis, sessionmaker=sessionmaker, settings=settings, consumer_options=options)
    consumers = [MailConsumer(redis, settings.mail, **options)]
    for domain in DOMAINS:
        consumers.extend(worker_tasks(domain, deps))
    try:
        await asyncio.gather(relay.run(stop), *(consumer.run(stop) for consumer in consumers))
    finally:
        await redis.aclose()
        await engine.dispose()
