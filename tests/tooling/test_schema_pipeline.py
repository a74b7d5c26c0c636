"""The schema pipeline: deterministic export, the real composer, breaking changes named."""

from __future__ import annotations

from pathlib import Path

import pytest

from subgraphs.tooling.paths import SCHEMA_DIR
from subgraphs.tooling.schema_pipeline import breaking_changes, compose, export_sdl

OLD = "type Query { me: User  course(id: ID!): String }\ntype User { id: ID!  email: String }"
NEW = "type Query { me: User }\ntype User { id: ID!  email: String!  name: String }"


def test_breaking_changes_are_listed():
    changes = breaking_changes(OLD, NEW)
    assert any("Query.course was removed" in change for change in changes)
    # Adding a field, or making an output field non-null, breaks no client.
    assert not any("name" in change or "email" in change for change in changes)


def test_committed_schema_is_what_export_and_compose_produce(tmp_path: Path):
    export_sdl(tmp_path)
    for path in tmp_path.iterdir():
        assert path.read_text() == (SCHEMA_DIR / path.name).read_text(), f"schema/{path.name} is stale"
    assert compose(tmp_path, stdout=True) == (SCHEMA_DIR / "supergraph.graphql").read_text()


def test_composition_errors_are_reported(tmp_path: Path):
    export_sdl(tmp_path)
    users = tmp_path / "users.graphql"
    users.write_text(users.read_text().replace("type User @key", 'type User @key(fields: "nope") @key', 1))
    with pytest.raises(RuntimeError, match="composition failed"):
        compose(tmp_path, stdout=True)
