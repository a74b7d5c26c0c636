"""The labs subgraph: lab sessions and templates at /graphql, and the authenticated IDE proxy at /labs/."""

from __future__ import annotations

from subgraphs.core.app import subgraph_app_factory
from subgraphs.labs import proxy
from subgraphs.labs.loaders import build_loaders
from subgraphs.labs.schema import schema

create_app = subgraph_app_factory(
    "labs",
    schema,
    build_loaders=build_loaders,
    # Browsers open labs directly; the proxy authenticates every request itself.
    open_paths=(proxy.PREFIX,),
    add_routes=proxy.install,
)
app = create_app()
