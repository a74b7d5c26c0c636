"""The import boundaries (pyproject's import-linter contracts) name every domain of the registry.

import-linter needs each domain spelled out; this test makes a domain added to `core/domains.py` but not to
the contracts fail here, naming the contract, instead of escaping the boundary checks unnoticed."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from subgraphs.core.domains import DOMAINS

CONTRACTS = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["tool"]["importlinter"][
    "contracts"
]
DOMAIN_MODULES = {f"subgraphs.{domain}" for domain in DOMAINS}


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda contract: contract["name"])
def test_each_contract_that_names_domains_names_all_of_them(contract: dict) -> None:
    for field in ("modules", "source_modules", "forbidden_modules"):
        named = set(contract.get(field, []))
        if named & DOMAIN_MODULES:
            assert DOMAIN_MODULES <= named, f"{field} misses {sorted(DOMAIN_MODULES - named)}"


def test_the_kernel_is_forbidden_every_domain() -> None:
    kernel = next(c for c in CONTRACTS if c.get("source_modules") == ["subgraphs.core"])
    assert DOMAIN_MODULES <= set(kernel["forbidden_modules"])
