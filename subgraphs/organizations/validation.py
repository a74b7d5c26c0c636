"""Names, descriptions and email addresses as organizations store them (InvalidInput naming the
mutation's input fields). Slugs are cleaned as every domain cleans them: core.text.clean_slug."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from subgraphs.core.errors import InvalidInput


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


def normalize_email(email: str, field: str = "input.email") -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput({field: str(exc)}) from exc
