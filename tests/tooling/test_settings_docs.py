"""docs/settings.md: every setting documented, the page current."""

from __future__ import annotations

from pathlib import Path

from subgraphs.tooling.settings_docs import settings_markdown, undocumented, variables

SETTINGS_DOC = Path(__file__).parents[2] / "docs" / "settings.md"


def test_every_setting_has_a_meaning_and_docs_settings_is_current():
    """docs/settings.md is generated from Settings (`coursegraph docs settings`): a new or changed setting
    without its meaning, or without the regenerated page, fails here."""
    assert undocumented() == []
    assert SETTINGS_DOC.read_text() == settings_markdown(), "stale: run `coursegraph docs settings`"
    assert all(f"`{name}`" in SETTINGS_DOC.read_text() for _, name, _ in variables())
