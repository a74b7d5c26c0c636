"""What text the platform accepts from callers anywhere: no NUL characters (PostgreSQL text and jsonb refuse
them) and no unpaired UTF-16 surrogates (not Unicode scalar values: UTF-8 encoding, PostgreSQL and our JSON
encoder all fail on them)."""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why `text` is refused, or None."""
    found = _UNSAFE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "Text must not contain NUL characters."
    return "Text must not contain unpaired UTF-16 surrogates."
