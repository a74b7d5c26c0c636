"""The courses subgraph: courses, modules, lessons, exercises, enrollments and feedback at /graphql."""

from __future__ import annotations

from subgraphs.core.app import subgraph_app_factory
from subgraphs.courses.loaders import build_loaders
from subgraphs.courses.schema import schema

create_app = subgraph_app_factory("courses", schema, build_loaders=build_loaders)
app = create_app()
