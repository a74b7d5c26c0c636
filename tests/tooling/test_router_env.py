"""The router's process environment (subgraphs/tooling/router.py)."""

from __future__ import annotations

import pytest

from subgraphs.core.settings import Settings
from subgraphs.tooling.router import ROUTER_GLIBC_TUNABLES, router_env


def test_router_env_fixes_the_glibc_mmap_threshold(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    assert router_env(settings)["GLIBC_TUNABLES"] == ROUTER_GLIBC_TUNABLES
    assert ROUTER_GLIBC_TUNABLES == "glibc.malloc.mmap_threshold=131072"


def test_router_env_keeps_the_operators_glibc_tunables(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2")
    # not among the returned variables: the process inherits the operator's own
    assert "GLIBC_TUNABLES" not in router_env(settings)
