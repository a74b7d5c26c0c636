"""Jobs a worker runs under a lease: content exports and imports, generation jobs.

A job row is its own lock: a worker claims it by a state transition that sets a lease (token and expiry)
and finishes it only while it still holds that lease, so a job never completes twice; a sweep requeues (or
fails) the jobs whose lease expired because their worker died.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Integer
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from subgraphs.core.db import utcnow


class LeasedJobMixin:
    """The columns every leased job table has: `class ExportJob(UUIDPrimaryKey, LeasedJobMixin, Base)`."""

    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_token: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
