"""The quizzes subgraph: quizzes, questions and attempts at /graphql."""

from __future__ import annotations

from subgraphs.core.app import subgraph_app_factory
from subgraphs.quizzes.loaders import build_loaders
from subgraphs.quizzes.schema import schema

create_app = subgraph_app_factory("quizzes", schema, build_loaders=build_loaders)
app = create_app()
