"""The vocabulary domains share, defined once: IDE kinds, difficulty, an organization's settings.

The organizations domain owns the settings (it validates them and announces them in its events); the labs
and generator domains read them from those events. Defaults and bounds live here and nowhere else.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class LabIde(StrEnum):
    """The IDE a lab opens for an exercise (courses: an exercise's `labIde`; labs: what a session runs)."""

    VSCODE = "VSCODE"
    JUPYTER = "JUPYTER"
    TERMINAL = "TERMINAL"


class Difficulty(StrEnum):
    """A course's level (courses) and the level a syllabus is generated for (generator)."""

    BEGINNER = "BEGINNER"
    INTERMEDIATE = "INTERMEDIATE"
    ADVANCED = "ADVANCED"


class OrganizationSettings(BaseModel):
    """Per-organization settings: stored as JSON by organizations, announced in its events, applied by labs
    (the lab limits) and generator (the token budget)."""

    # forbid: an organization admin who misspells a setting gets an error naming it, not a silent default.
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Seconds, not minutes: the lifecycle tests run a real idle → paused → stopped cycle in seconds.
    # No activity this long → paused; paused this long → stopped.
    lab_idle_timeout_seconds: int = Field(default=15 * 60, ge=5, le=24 * 3600)
    lab_stop_timeout_seconds: int = Field(default=2 * 3600, ge=5, le=7 * 24 * 3600)
    lab_max_session_minutes: int = Field(default=240, ge=15, le=24 * 60)
    lab_max_concurrent_per_user: int = Field(default=2, ge=1, le=20)
    lab_max_running_per_organization: int = Field(default=100, ge=1, le=10_000)
    lab_memory_mb: int = Field(default=2048, ge=256, le=16384)
    lab_cpus: float = Field(default=1.5, gt=0, le=8)
    # None: the platform default (COURSEGRAPH_GENERATOR__DAILY_TOKEN_BUDGET).
    generation_daily_token_budget: int | None = Field(default=None, ge=0, le=1_000_000_000)
    # None: the platform default (COURSEGRAPH_CONTENT__DEFAULT_QUOTA_BYTES). Bytes of files the content
    # subgraph stores for the organization (every version counts).
    storage_quota_bytes: int | None = Field(default=None, ge=0, le=10**15)

    @classmethod
    def of(cls, stored: dict[str, Any] | None) -> OrganizationSettings:
        """Settings as stored or announced (None: not known yet); a missing or null value is the default."""
        return cls.model_validate({k: v for k, v in (stored or {}).items() if v is not None})
