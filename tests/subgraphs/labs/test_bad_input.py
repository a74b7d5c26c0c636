"""Issue 13 item 6 on the labs subgraph: forged cursors of `User.labSessions` (me.labSessions through the
router) and `LabSession.events` are BAD_USER_INPUT naming `after` (they answered "Unexpected error.")."""

from __future__ import annotations

import base64
import uuid

import orjson
import pytest

from subgraphs.core.pagination import encode_cursor
from tests.subgraphs.courses.test_bad_input import refused

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")


def _b64(values: list) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode()


SESSIONS = """query($r: [_Any!]!, $after: String) { _entities(representations: $r) {
  ... on User { labSessions(first: 5, after: $after) { nodes { id } } } } }"""
EVENTS = """query($r: [_Any!]!, $after: String) { _entities(representations: $r) {
  ... on LabSession { events(first: 5, after: $after) { nodes { seq } } } } }"""


async def test_forged_lab_cursors(labs_gql, minter):
    user = await minter.user("student")
    me = {"r": [{"__typename": "User", "id": user.id}]}
    lab = {"r": [{"__typename": "LabSession", "id": str(uuid.uuid4())}]}
    for document, reps in ((SESSIONS, me), (EVENTS, lab)):
        for forged in (
            "bm90LWEtY3Vyc29y",
            _b64(["t:not a date", "u:not a uuid"]),
            encode_cursor([2**40]),
        ):
            body = await labs_gql(document, {**reps, "after": forged}, token=user.token)
            assert refused(body, "after") == "Not a cursor from this list."
    # Well-formed, of another list (an events cursor for the sessions list): the connection refuses it.
    body = await labs_gql(SESSIONS, {**me, "after": encode_cursor([3])}, token=user.token)
    assert refused(body, "after", before_execution=False) == "Not a cursor from this list."
