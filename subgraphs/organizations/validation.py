"""Names, descriptions, slugs and email addresses as organizations store them (InvalidInput naming the
mutation's input fields)."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from subgraphs.core.errors import InvalidInput

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,62}[a-z0-9])$")


def clean_name(value: str, field: str, *, limit: int = 200) -> str:
    name = " ".join(value.split())
    if not 1 <= len(name) <= limit:
        raise InvalidInput({field: f"Give a name of 1 to {limit} characters."})
    return name


def clean_description(value: str | None, field: str) -> str:
    text = (value or "").strip()
    if len(text) > 5000:
        raise InvalidInput({field: "Keep it under 5000 characters."})
    return text


def clean_slug(value: str, field: str = "input.slug") -> str:
    slug = value.strip().lower()
    if not SLUG_PATTERN.match(slug):
        raise InvalidInput(
            {field: "Use 3 to 64 lower-case letters, digits and dashes, not starting or ending with a dash."}
        )
    return slug


def normalize_email(email: str, field: str = "input.email") -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput({field: str(exc)}) from exc
