"""GraphQL documents and helpers of the labs tests."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from subgraphs.labs.models import LabEvent, Outbox

SESSION_FIELDS = """
  id status ide failureReason accessUrl createdAt startedAt lastActivityAt idleDeadline stopDeadline
  user { id } exercise { id } course { id } organization { id }
  resources { cpus memoryMb memoryBytes pids }
"""

START = """
mutation($input: StartLabInput!) {
  startLab(input: $input) {
    __typename
    ... on LabSessionSuccess { session { %s } }
    ... on Error { code message }
    ... on LabCapacityExceededError { retryAfterSeconds }
    ... on LabLimitReachedError { scope limit }
    ... on RateLimitedError { retryAfterSeconds }
  }
}""".replace("%s", SESSION_FIELDS)


def action(name: str) -> str:
    return (
        "mutation($id: ID!) { NAME(input: {sessionId: $id}) { __typename "
        "... on LabSessionSuccess { session { id status } } "
        "... on Error { code message } ... on InvalidTransitionError { status } } }"
    ).replace("NAME", name)


PAUSE, RESUME, STOP, HEARTBEAT = (action(n) for n in ("pauseLab", "resumeLab", "stopLab", "heartbeatLab"))

SESSION = "query($id: ID!) { labSession(id: $id) { %s usage { cpuPercent memoryBytes pids } } }".replace(
    "%s", SESSION_FIELDS
)

SESSIONS = """
query($filter: LabSessionFilter, $first: Int, $after: String) {
  labSessions(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id status user { id } exercise { id } } }
    pageInfo { hasNextPage endCursor }
  }
}"""

STOP_LABS = """
mutation($input: StopLabsInput!) {
  stopLabs(input: $input) { __typename ... on StopLabsSuccess { count sessions { id status } }
                            ... on Error { code message } }
}"""

CAPACITY = """query($org: ID!) {
  labCapacity(organizationId: $org) { organizationId running limit starting maxConcurrentStarts } }"""

ENTITIES = """
query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on LabSession { id status }
    ... on LabTemplate { id ide }
    ... on Exercise { id labTemplate { id ide image } }
    ... on User { id labSessions(first: 10) { edges { node { id status } } } }
  }
}"""


async def start(gql: Any, caller: Any, exercise_id: Any, **extra: Any) -> dict[str, Any]:
    body = await gql(START, {"input": {"exerciseId": str(exercise_id), **extra}}, token=caller.token)
    assert "errors" not in body, body
    return body["data"]["startLab"]


async def stream_of(runtime: Any, session_id: Any) -> list[dict[str, Any]]:
    async with runtime.transaction() as session:
        rows = await session.scalars(
            select(LabEvent).where(LabEvent.stream_id == uuid.UUID(str(session_id))).order_by(LabEvent.seq)
        )
        return [{"seq": r.seq, **r.data} for r in rows]


async def contract_events(runtime: Any, session_id: Any) -> list[dict[str, Any]]:
    async with runtime.transaction() as session:
        rows = await session.scalars(
            select(Outbox.event)
            .where(Outbox.event["subject_ids"]["session_id"].astext == str(session_id))
            .order_by(Outbox.position)
        )
        return list(rows)
