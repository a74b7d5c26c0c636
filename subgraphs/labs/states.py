"""A lab session's statuses, the organization's limits that drive it, and the deadlines they set.

State machine (PostgreSQL, `lab_session.status`): REQUESTED → PROVISIONING → STARTING → RUNNING ⇄ PAUSED
→ STOPPING → STOPPED, or FAILED (with a reason) from any live status; transitions.py moves a session.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select

from subgraphs.contracts.vocabulary import OrganizationSettings
from subgraphs.labs.models import LabSession, OrganizationProjection


class LabStatus(StrEnum):
    REQUESTED = "REQUESTED"
    PROVISIONING = "PROVISIONING"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    FAILED = "FAILED"


S = LabStatus
LIVE = frozenset({S.REQUESTED, S.PROVISIONING, S.STARTING, S.RUNNING, S.PAUSED, S.STOPPING})
TERMINAL = frozenset({S.STOPPED, S.FAILED})
BOOTING = frozenset({S.REQUESTED, S.PROVISIONING, S.STARTING})  # count against concurrent starts
# Count against the per-user and per-organization running limits (a paused lab holds no CPU).
ACTIVE = BOOTING | {S.RUNNING}


@dataclass(frozen=True)
class OrgLabSettings:
    idle_timeout_seconds: int
    stop_timeout_seconds: int
    max_session_seconds: int  # since it first became RUNNING, paused time included
    max_concurrent_per_user: int
    max_running_per_organization: int
    memory_mb: int
    cpus: float

    @classmethod
    def of(cls, stored: dict[str, Any] | None) -> OrgLabSettings:
        """The lab limits of an organization's settings as projected (None: not announced yet)."""
        s = OrganizationSettings.of(stored)
        return cls(
            idle_timeout_seconds=s.lab_idle_timeout_seconds,
            stop_timeout_seconds=s.lab_stop_timeout_seconds,
            max_session_seconds=s.lab_max_session_minutes * 60,
            max_concurrent_per_user=s.lab_max_concurrent_per_user,
            max_running_per_organization=s.lab_max_running_per_organization,
            memory_mb=s.lab_memory_mb,
            cpus=s.lab_cpus,
        )


async def org_settings(session: Any, organization_id: uuid.UUID) -> OrgLabSettings:
    row = await session.get(OrganizationProjection, organization_id)
    return OrgLabSettings.of(row.settings if row else None)


def idle_deadline(row: LabSession, org: OrgLabSettings) -> datetime | None:
    if row.status != S.RUNNING or row.last_activity_at is None:
        return None
    return row.last_activity_at + timedelta(seconds=org.idle_timeout_seconds)


def stop_deadline(row: LabSession, org: OrgLabSettings) -> datetime | None:
    if row.status == S.PAUSED and row.paused_at is not None:
        return row.paused_at + timedelta(seconds=org.stop_timeout_seconds)
    idle = idle_deadline(row, org)
    return idle + timedelta(seconds=org.stop_timeout_seconds) if idle else None


async def count_sessions(session: Any, *where: Any) -> int:
    """How many lab sessions match `where` (the limits count them)."""
    return int(await session.scalar(select(func.count()).select_from(LabSession).where(*where)) or 0)
