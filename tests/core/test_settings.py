"""Settings: documented, and strict in production."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from subgraphs.core.settings import Settings

ROOT = Path(__file__).parents[2]
# Settings are documented in README's table or in the docs/ page of their topic.
README = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])


def _variables(model: type[BaseModel], prefix: str = "COURSEGRAPH_") -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            names += _variables(field.annotation, f"{prefix}{name.upper()}__")
        elif field.validation_alias is not None:  # DATABASE_URL, REDIS_URL: documented by their alias
            names.append(field.validation_alias.choices[0])
        else:
            names.append(f"{prefix}{name.upper()}")
    return names


def test_every_setting_is_documented_in_readme():
    missing = [name for name in _variables(Settings) if f"`{name}`" not in README]
    assert missing == []


def test_production_refuses_placeholder_secrets():
    with pytest.raises(ValidationError) as excinfo:
        Settings(
            environment="production", database={"url": "postgresql+asyncpg://x/y"}, redis={"url": "redis://x"}
        )
    assert "COURSEGRAPH_ROUTER__SHARED_SECRET" in str(excinfo.value)
    assert "COURSEGRAPH_MAIL__BACKEND" in str(excinfo.value)


def test_production_accepts_real_secrets():
    settings = Settings(
        environment="production",
        database={"url": "postgres://db/coursegraph"},
        redis={"url": "redis://cache:6379/0"},
        router={"shared_secret": "s" * 40},
        labs={"proxy_cookie_secret": "l" * 40},
        content={"url_secret": "c" * 40},
        auth={"service_secret": "v" * 40},
        mail={"backend": "smtp"},
    )
    assert settings.is_production
    assert settings.database.url == "postgresql+asyncpg://db/coursegraph"


def test_production_wants_a_lab_cookie_secret_of_its_own():
    """Issue 13.1: the lab proxy's cookie key was derived from the router's secret."""
    base = {
        "environment": "production",
        "database": {"url": "postgres://db/coursegraph"},
        "redis": {"url": "redis://cache:6379/0"},
        "router": {"shared_secret": "s" * 40},
        "mail": {"backend": "smtp"},
    }
    for labs, expected in (
        ({}, "32+ characters"),
        ({"proxy_cookie_secret": "s" * 40}, "must differ from the router's shared secret"),
    ):
        with pytest.raises(ValidationError) as excinfo:
            Settings(**base, labs=labs)
        assert "COURSEGRAPH_LABS__PROXY_COOKIE_SECRET" in str(excinfo.value)
        assert expected in str(excinfo.value)
