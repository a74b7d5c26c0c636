"""The generator subgraph: AI generation jobs, their live progress and results at /graphql."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from subgraphs.core.app import subgraph_app_factory
from subgraphs.core.context import Runtime
from subgraphs.generator.loaders import build_loaders
from subgraphs.generator.providers.chain import build_chain
from subgraphs.generator.schema import schema


async def warm_providers(runtime: Runtime, app: FastAPI) -> None:
    """Build the provider chain before serving: importing a provider's SDK takes seconds (7 s for `anthropic`
    on a loaded machine), which the first generation request would otherwise wait for."""
    runtime.extras["generator"] = await asyncio.to_thread(build_chain, runtime.settings.generator)


create_app = subgraph_app_factory("generator", schema, build_loaders=build_loaders, on_startup=warm_providers)
app = create_app()
