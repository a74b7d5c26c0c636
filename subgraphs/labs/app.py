"""The labs subgraph: lab sessions and templates at /graphql, and the authenticated IDE proxy at /labs/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from subgraphs.core.app import create_subgraph_app
from subgraphs.core.settings import Settings, get_settings
from subgraphs.labs import proxy
from subgraphs.labs.loaders import build_loaders
from subgraphs.labs.schema import schema


def create_app(
    settings: Settings | None = None, *, key_loader_factory: Callable[[Settings], Any] | None = None
) -> FastAPI:
    """`key_loader_factory`: tests verify tokens with the signing keys file instead of the JWKS over HTTP."""
    app = create_subgraph_app(
        "labs",
        schema,
        build_loaders=build_loaders,
        key_loader_factory=key_loader_factory,
        settings=settings or get_settings(),
        # Browsers open labs directly; the proxy authenticates every request itself.
        open_paths=(proxy.PREFIX,),
    )
    proxy.install(app)
    return app


app = create_app()
