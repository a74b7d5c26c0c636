"""The registry of domains: which subgraphs exist and where their pieces are. The one place to add one."""

from __future__ import annotations

import importlib

# Domains implemented so far, in composition order. Add a domain here and nowhere else.
DOMAINS: tuple[str, ...] = ("users", "organizations", "courses", "quizzes", "generator")


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
