"""Settings: strict in production (docs/settings.md: tests/tooling/test_settings_docs.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from subgraphs.core.settings import Settings


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
