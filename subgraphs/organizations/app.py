"""The organizations subgraph: tenants, memberships, tracks and the audit log at /graphql."""

from __future__ import annotations

from subgraphs.core.app import subgraph_app_factory
from subgraphs.organizations.loaders import build_loaders
from subgraphs.organizations.schema import schema

create_app = subgraph_app_factory("organizations", schema, build_loaders=build_loaders)
app = create_app()
