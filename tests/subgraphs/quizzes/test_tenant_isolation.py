"""Tenant isolation of the quizzes subgraph as a matrix: its queries and mutations x every kind of caller
(as tests/subgraphs/courses/test_tenant_isolation.py). The classroom's organization is A; the student is
enrolled in A's course; "member" belongs to A but is not enrolled; "other_org_admin" administers B only.
API clients are bound to A: "client" holds exactly the permission the operation needs, "client_without_scope"
every other one. Each cell gets a fresh world."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from subgraphs.core.rbac import GRANTABLE_SCOPES, Permission
from subgraphs.quizzes import attempts
from tests.subgraphs.quizzes.factories import Classroom, classroom
from tests.subgraphs.quizzes.queries import (
    ATTEMPTS,
    CREATE_QUESTION,
    CREATE_QUIZ,
    PUBLISH_QUIZ,
    QUIZ,
    START,
    SUBMIT,
)

PRINCIPALS = (
    "anonymous",
    "student",
    "member",
    "instructor",
    "org_admin",
    "other_org_admin",
    "site_admin",
    "client",
    "client_without_scope",
)
OK, F, U, N, NF = "ok", "FORBIDDEN", "UNAUTHENTICATED", "null", "NOT_FOUND"


@dataclass
class World:
    room: Classroom
    minter: Any
    callers: dict[str, Any]
    attempt_id: str

    async def token(self, principal: str, permission: Permission) -> str | None:
        if principal == "anonymous":
            return None
        if principal == "client":
            return (await self.minter.client(self.room.school.org, [permission.value])).token
        if principal == "client_without_scope":
            scopes = sorted(GRANTABLE_SCOPES - {permission.value})
            return (await self.minter.client(self.room.school.org, scopes)).token
        return self.callers[principal].token


@pytest.fixture
async def world(courses, projector, quizzes_runtime) -> World:
    room = await classroom(courses, projector, quizzes_runtime)
    attempt = await attempts.start_attempt(quizzes_runtime, room.school.student.meta, quiz_id=room.quiz_id)
    other = await courses.school()
    callers = {
        "student": room.school.student,
        "member": await courses.minter.member(room.school.org, "student"),
        "instructor": room.school.instructor,
        "org_admin": room.school.admin,
        "other_org_admin": other.admin,
        "site_admin": await courses.minter.user("site_admin"),
    }
    return World(room, courses.minter, callers, str(attempt.id))


def outcome(body: dict, field: str) -> str:
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    value = body["data"][field]
    if value is None:
        return N
    if isinstance(value, dict) and value.get("__typename", "").endswith("Error"):
        return value["code"]
    return OK


QUESTION = {"type": "TRUE_FALSE", "prompt": "Yes?", "correctBoolean": True}
CASES: list[tuple[str, Permission, str, Any, str, tuple[str, ...]]] = [
    ("quiz", Permission.VIEW_COURSES, QUIZ, lambda w: {"id": str(w.room.quiz_id)}, "quiz",
     (U, OK, OK, OK, OK, N, OK, OK, OK)),
    ("quizAttempts", Permission.UPDATE_COURSES, ATTEMPTS, lambda w: {"quiz": str(w.room.quiz_id)},
     "quizAttempts", (U, F, F, OK, OK, F, OK, OK, F)),
    ("createQuiz", Permission.UPDATE_COURSES, CREATE_QUIZ,
     lambda w: {"input": {"courseId": str(w.room.course_id), "title": "New"}}, "createQuiz",
     (U, F, F, OK, OK, F, OK, OK, F)),
    ("createQuestion", Permission.UPDATE_COURSES, CREATE_QUESTION,
     lambda w: {"input": {"quizId": str(w.room.quiz_id), "question": QUESTION}}, "createQuestion",
     (U, F, F, OK, OK, F, OK, OK, F)),
    ("publishQuiz", Permission.UPDATE_COURSES, PUBLISH_QUIZ, lambda w: {"input": {"id": str(w.room.quiz_id)}},
     "publishQuiz", (U, F, F, OK, OK, F, OK, OK, F)),
    # Only the enrolled student takes it (resuming their open attempt); API clients are not people.
    ("startQuizAttempt", Permission.VIEW_COURSES, START, lambda w: {"input": {"quizId": str(w.room.quiz_id)}},
     "startQuizAttempt", (U, OK, "NOT_ENROLLED", "NOT_ENROLLED", "NOT_ENROLLED", NF, "NOT_ENROLLED", U, U)),
    ("submitQuizAttempt", Permission.VIEW_COURSES, SUBMIT, lambda w: {"input": {"attemptId": w.attempt_id}},
     "submitQuizAttempt", (U, OK, NF, NF, NF, NF, NF, U, U)),
]  # fmt: skip


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
async def test_matrix(quizzes_gql, world, case, principal):
    name, permission, document, variables, field, expected = case
    token = await world.token(principal, permission)
    body = await quizzes_gql(document, variables(world), token=token)
    assert outcome(body, field) == expected[PRINCIPALS.index(principal)], (name, principal, body)
