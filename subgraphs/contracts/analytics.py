"""The events of the analytics domain (`events.analytics`)."""

from __future__ import annotations

import uuid
from typing import Any

from subgraphs.contracts.base import EventPayload


class ActivityTracked(EventPayload):
    """A client reported a student's activity in a course (`trackActivity`)."""

    TYPE = "analytics.activity.tracked"
    user_id: uuid.UUID
    course_id: uuid.UUID
    organization_id: uuid.UUID
    activity_type: str
    data: dict[str, Any]  # the client's own JSON object, bounded by analytics (keys and bytes)
