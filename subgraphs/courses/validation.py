"""What the courses domain accepts from callers: the size limits of a course and the cleaning of each kind
of field (a refused value is an InvalidInput naming the field)."""

from __future__ import annotations

import re

from subgraphs.core.errors import InvalidInput

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,62}[a-z0-9])$")
MAX_MODULES = 100  # per course: modules, lessons per module and exercises are bounded lists
MAX_LESSONS = 100
MAX_EXERCISES = 100
MAX_BODY = 200_000
MAX_FILES = 50


def clean_text(value: str, field: str, *, limit: int = 200) -> str:
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


def clean_category(value: str | None, field: str = "input.category") -> str:
    text = " ".join((value or "").split()).lower()
    if len(text) > 64:
        raise InvalidInput({field: "Keep it under 64 characters."})
    return text


def clean_hours(value: int | None, field: str = "input.estimatedDurationHours") -> int | None:
    if value is not None and not 1 <= value <= 10_000:
        raise InvalidInput({field: "Give a whole number of hours between 1 and 10000."})
    return value


def clean_cap(value: int | None, field: str = "input.enrollmentCap") -> int | None:
    if value is not None and not 1 <= value <= 1_000_000:
        raise InvalidInput({field: "Give a positive cap (or none)."})
    return value


def clean_files(value: list[dict[str, str]] | None, field: str) -> list[dict[str, str]]:
    files = value or []
    if len(files) > MAX_FILES:
        raise InvalidInput({field: f"At most {MAX_FILES} files."})
    paths = set()
    for i, f in enumerate(files):
        path = f.get("path", "").strip()
        if not path or path.startswith("/") or ".." in path.split("/") or len(path) > 255:
            raise InvalidInput({f"{field}.{i}.path": "Give a relative path inside the workspace."})
        if path in paths:
            raise InvalidInput({f"{field}.{i}.path": "Each path appears once."})
        if len(f.get("content", "")) > MAX_BODY:
            raise InvalidInput({f"{field}.{i}.content": f"Keep it under {MAX_BODY} characters."})
        paths.add(path)
    return [{"path": f["path"].strip(), "content": f.get("content", "")} for f in files]
