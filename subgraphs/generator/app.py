"""The generator subgraph: AI generation jobs, their live progress and results at /graphql."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from subgraphs.core.app import create_subgraph_app
from subgraphs.core.context import Runtime
from subgraphs.core.settings import Settings, get_settings
from subgraphs.generator.loaders import build_loaders
from subgraphs.generator.providers.chain import build_chain
from subgraphs.generator.schema import schema


async def warm_providers(runtime: Runtime, app: FastAPI) -> None:
    """Build the provider chain before serving: importing a provider's SDK takes seconds (7 s for `anthropic`
    on a loaded machine), which the first generation request would otherwise wait for."""
    runtime.extras["generator"] = await asyncio.to_thread(build_chain, runtime.settings.generator)


def create_app(
    settings: Settings | None = None, *, key_loader_factory: Callable[[Settings], Any] | None = None
) -> FastAPI:
    """`key_loader_factory`: tests verify tokens with the signing keys file instead of the JWKS over HTTP."""
    return create_subgraph_app(
        "generator",
        schema,
        build_loaders=build_loaders,
        key_loader_factory=key_loader_factory,
        settings=settings or get_settings(),
        on_startup=warm_providers,
    )


app = create_app()
