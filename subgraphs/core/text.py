"""What text the platform accepts from callers anywhere: no NUL characters (PostgreSQL text and jsonb refuse
them) and no unpaired UTF-16 surrogates (not Unicode scalar values: UTF-8 encoding, PostgreSQL and our JSON
encoder all fail on them). And the cleaning every domain applies to the same kinds of field (a title, a
long Markdown text, a slug): a refused value is an InvalidInput naming the field."""

from __future__ import annotations

import re

from subgraphs.core.errors import InvalidInput

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,62}[a-z0-9])$")
_UNSAFE = re.compile("[\x00\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why `text` is refused, or None."""
    found = _UNSAFE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "Text must not contain NUL characters."
    return "Text must not contain unpaired UTF-16 surrogates."


def clean_text(value: str, field: str, *, limit: int = 200) -> str:
    """One line of text (a title): runs of white space become one space."""
    text = " ".join(value.split())
    if not 1 <= len(text) <= limit:
        raise InvalidInput({field: f"Give 1 to {limit} characters."})
    return text


def clean_long(value: str | None, field: str, *, limit: int = 10_000) -> str:
    """Long text (Markdown) is stored exactly as written: leading spaces are an indented code block."""
    text = value or ""
    if len(text) > limit:
        raise InvalidInput({field: f"Keep it under {limit} characters."})
    return text


def clean_slug(value: str, field: str = "input.slug") -> str:
    slug = value.strip().lower()
    if not SLUG_PATTERN.match(slug):
        raise InvalidInput(
            {field: "Use 3 to 64 lower-case letters, digits and dashes, not starting or ending with a dash."}
        )
    return slug
