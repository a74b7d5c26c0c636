"""What the courses domain accepts from callers: the size limits of a course and the cleaning of the fields
that are its own (titles, Markdown and slugs are cleaned by core.text; a refused value is an InvalidInput
naming the field)."""

from __future__ import annotations

from subgraphs.core.errors import InvalidInput

MAX_MODULES = 100  # per course: modules, lessons per module and exercises are bounded lists
MAX_LESSONS = 100
MAX_EXERCISES = 100
MAX_BODY = 200_000
MAX_FILES = 50


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
