"""Where the repository's non-Python pieces are, for the commands that use them."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "schema"
ROUTER_DIR = ROOT / "router"
