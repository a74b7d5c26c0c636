"""Feeding a domain's course_owner projection (core.course_owners) in tests: a `courses.course.*` event
applied through the consumer's own function, as the worker would apply it."""

from __future__ import annotations

import uuid
from typing import Any

from subgraphs.core.course_owners import record_course_event
from subgraphs.core.events import Event


async def announce_course(
    runtime: Any,
    model: Any,
    organization_id: Any,
    course_id: Any = None,
    *,
    verb: str = "created",
    status: str = "DRAFT",
) -> str:
    """Apply `courses.course.<verb>` for a course of `organization_id`; returns the course id."""
    course_id = str(course_id or uuid.uuid4())
    event = Event(
        type=f"courses.course.{verb}",
        organization_id=str(organization_id),
        payload={
            "course_id": course_id,
            "organization_id": str(organization_id),
            "instructor_id": str(uuid.uuid4()),
            "status": status,
            "title": "A course",
        },
    )
    async with runtime.transaction() as session:
        assert await record_course_event(session, model, event)
    return course_id
