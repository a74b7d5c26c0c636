"""The schema pipeline: each subgraph's SDL exported, the supergraph composed (router/compose.mjs), and the
breaking changes between two supergraphs."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from subgraphs.core.domains import DOMAINS, SUBGRAPH_PORTS, schema_of
from subgraphs.tooling.paths import ROOT, ROUTER_DIR, SCHEMA_DIR


def export_sdl(target: Path) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for domain in DOMAINS:
        path = target / f"{domain}.graphql"
        path.write_text(schema_of(domain).as_str() + "\n")
        written.append(path)
    urls = {domain: f"http://127.0.0.1:{SUBGRAPH_PORTS[domain]}/graphql" for domain in DOMAINS}
    (target / "subgraphs.json").write_text(json.dumps(urls, indent=2) + "\n")
    return written


def compose(schema_dir: Path, *, stdout: bool = False) -> str:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed (Node 20+ is needed for composition)")
    argv = [node, str(ROUTER_DIR / "compose.mjs"), str(schema_dir)] + (["--stdout"] if stdout else [])
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"composition failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def breaking_changes(old_sdl: str, new_sdl: str) -> list[str]:
    from graphql import build_schema, find_breaking_changes

    old = build_schema(old_sdl, assume_valid_sdl=True)
    new = build_schema(new_sdl, assume_valid_sdl=True)
    return [f"{change.type.name}: {change.description}" for change in find_breaking_changes(old, new)]


def schema_problems(against: str | None = None) -> tuple[list[str], list[str]]:
    """(breaking changes of the supergraph since the git ref `against`, problems): the committed SDL or
    supergraph is stale, does not compose, or (with `against`) changed in a breaking way."""
    problems = []
    breaking: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        export_sdl(fresh)
        for path in sorted(fresh.iterdir()):
            committed = SCHEMA_DIR / path.name
            if not committed.exists() or committed.read_text() != path.read_text():
                problems.append(f"schema/{path.name} is stale: run `coursegraph schema export`")
        try:
            supergraph = compose(fresh, stdout=True)
        except RuntimeError as exc:
            problems.append(str(exc))
            supergraph = None
    committed_supergraph = SCHEMA_DIR / "supergraph.graphql"
    if supergraph is not None and (
        not committed_supergraph.exists() or committed_supergraph.read_text() != supergraph
    ):
        problems.append("schema/supergraph.graphql is stale: run `coursegraph schema compose`")
    if against and supergraph is not None:
        old = subprocess.run(
            ["git", "show", f"{against}:schema/supergraph.graphql"], cwd=ROOT, capture_output=True, text=True
        )
        if old.returncode != 0:
            problems.append(f"no schema/supergraph.graphql at {against}")
        else:
            breaking = breaking_changes(old.stdout, supergraph)
            if breaking:
                problems.append(f"{len(breaking)} breaking change(s) since {against}")
    return breaking, problems
