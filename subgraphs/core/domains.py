"""The registry of domains: which subgraphs exist and where their pieces are. The one place to add one."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from subgraphs.core.settings import Settings

# Domains implemented so far, in composition order, with the port each subgraph listens on in local runs
# (production passes real URLs through ROUTER__SUBGRAPH_URLS). Add a domain here and nowhere else.
SUBGRAPH_PORTS: dict[str, int] = {
    "users": 4001,
    "organizations": 4002,
    "courses": 4003,
    "quizzes": 4004,
    "labs": 4005,
    "generator": 4006,
    "analytics": 4007,
    "content": 4008,
}
DOMAINS: tuple[str, ...] = tuple(SUBGRAPH_PORTS)


def import_models() -> None:
    for domain in DOMAINS:
        importlib.import_module(f"subgraphs.{domain}.models")


def outboxes() -> dict:
    """domain -> its Outbox model, for the relay."""
    import_models()
    return {domain: importlib.import_module(f"subgraphs.{domain}.models").Outbox for domain in DOMAINS}


def outbox_of(domain: str):  # noqa: ANN201
    """One domain's Outbox model (core records authorization failures through it)."""
    return importlib.import_module(f"subgraphs.{domain}.models").Outbox


def schema_of(domain: str):  # noqa: ANN201
    return importlib.import_module(f"subgraphs.{domain}.schema").schema


def app_path(domain: str) -> str:
    return f"subgraphs.{domain}.app:app"


@dataclass(frozen=True)
class WorkerDeps:
    """What `coursegraph worker` hands each domain's background tasks."""

    redis: Redis
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings
    # Consumer keyword arguments: block_ms, claim_idle_ms, dedupe_ttl_seconds, max_attempts, ledger.
    consumer_options: dict[str, Any]


def worker_tasks(domain: str, deps: WorkerDeps) -> list:
    """A domain's background tasks (objects with `async run(stop)`), declared by the optional module
    `subgraphs.<domain>.worker` as `worker_tasks(deps)`. A domain adds consumers there, not in the CLI."""
    try:
        module = importlib.import_module(f"subgraphs.{domain}.worker")
    except ModuleNotFoundError as exc:
        if exc.name != f"subgraphs.{domain}.worker":
            raise
        return []
    return list(module.worker_tasks(deps))


def cli_commands() -> dict:
    """`coursegraph <name> ...` command groups (typer apps) that domains declare in their optional module
    `subgraphs.<domain>.cli` as `COMMANDS = {name: typer.Typer(...)}`."""
    commands: dict = {}
    for domain in DOMAINS:
        try:
            module = importlib.import_module(f"subgraphs.{domain}.cli")
        except ModuleNotFoundError as exc:
            if exc.name != f"subgraphs.{domain}.cli":
                raise
            continue
        commands.update(module.COMMANDS)
    return commands
