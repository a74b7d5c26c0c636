"""Issue 13 item 6 on the analytics subgraph: a NUL inside trackActivity's JSON payload (PostgreSQL's jsonb
refuses it) is BAD_USER_INPUT naming the payload key, before anything is stored."""

from __future__ import annotations

import uuid

from tests.subgraphs.analytics.queries import TRACK
from tests.subgraphs.courses.test_bad_input import refused


async def test_nul_in_track_activity_payload(analytics_gql, minter):
    student = await minter.user("student")
    body = await analytics_gql(
        TRACK,
        {"input": {"type": "PAGE_VIEW", "courseId": str(uuid.uuid4()), "payload": {"page": "a\x00b"}}},
        token=student.token,
    )
    assert "NUL" in refused(body, "input.payload.page")
