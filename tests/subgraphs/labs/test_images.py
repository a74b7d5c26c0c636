"""`coursegraph labs build-images` (subgraphs/labs/images.py): what the images install matches what the
process runtime runs, recipes are hashed by content, and built images of an unchanged recipe are kept.
(The images themselves are exercised by test_real_ides.py and the e2e tests, on Docker.)"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from subgraphs.labs import images
from subgraphs.labs.images import IMAGES, RECIPES, Recipe, recipe_hash
from tests.labs_support import require_lab_images
from tests.services import in_ci

ROOT = Path(__file__).resolve().parents[3]


def test_the_images_install_the_versions_the_process_runtime_runs() -> None:
    locked = {p["name"]: p["version"] for p in tomllib.loads((ROOT / "uv.lock").read_text())["package"]}
    pins = {}
    for line in (RECIPES / "jupyter" / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name] = version
    assert pins and pins == {name: locked[name] for name in pins}


def test_a_recipe_hash_follows_its_files_and_its_parent(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(images, "RECIPES", tmp_path)
    (tmp_path / "ide").mkdir()
    (tmp_path / "ide" / "Dockerfile").write_text("FROM x\n")
    recipe = Recipe("ide", "coursegraph/lab-ide:1", "base", "api/status")
    first = recipe_hash(recipe, "parent-a")
    assert recipe_hash(recipe, "parent-a") == first
    assert recipe_hash(recipe, "parent-b") != first, "a new base rebuilds its children"
    (tmp_path / "ide" / images.BUILD_CA).write_text("the host's CA bundle")
    assert recipe_hash(recipe, "parent-a") == first, "the host's CA bundle is not part of the recipe"
    (tmp_path / "ide" / "Dockerfile").write_text("FROM y\n")
    assert recipe_hash(recipe, "parent-a") != first


def test_built_images_of_an_unchanged_recipe_are_kept() -> None:
    client = require_lab_images([r.tag for r in IMAGES])
    try:
        hashes = {key: images.base_recipe_hash(key) for key in images.BASES}
        for recipe in IMAGES:
            hashes[recipe.key] = recipe_hash(recipe, hashes[recipe.parent])
        stale = [
            r.tag for r in IMAGES if client.images.get(r.tag).labels.get(images.RECIPE_LABEL) != hashes[r.key]
        ]
    finally:
        client.close()
    if stale:  # CI builds them just before the tests (.ci/run): stale there means the build did not run
        message = f"{', '.join(stale)} predate their recipe: uv run coursegraph labs build-images"
        if in_ci():
            pytest.fail(f"CI: {message}")
        pytest.skip(message)
    run = subprocess.run(
        [str(Path(sys.executable).with_name("coursegraph")), "labs", "build-images"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    parents = {r.parent for r in IMAGES if r.parent in images.BASES}
    for key in (*parents, *(r.key for r in IMAGES)):
        assert f"[{key}]" in run.stdout and "up to date" in run.stdout.split(f"[{key}]")[1], run.stdout
    assert "docker build" not in run.stdout and "mmdebstrap" not in run.stdout
