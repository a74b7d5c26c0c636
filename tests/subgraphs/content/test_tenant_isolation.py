"""Tenant isolation of the content subgraph as a matrix: its queries and mutations x every kind of caller
(as tests/subgraphs/quizzes/test_tenant_isolation.py). The school's organization is A with a PUBLISHED
course holding an attachment (uploaded by the instructor) and an export job; "member" is another student
of A; "other_org_admin" administers B only. API clients are bound to A: "client" holds exactly the
permission the operation needs, "client_without_scope" every other one (update_courses included where
view_courses is the one needed: managing implies seeing). Each cell gets a fresh world."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pytest

from subgraphs.core.rbac import GRANTABLE_SCOPES, Permission
from tests.subgraphs.content.helpers import DELETE, EXPORT, ITEM, JOB, PDF, REQUEST_UPLOAD, RESTORE, upload

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
OK, F, U, N = "ok", "FORBIDDEN", "UNAUTHENTICATED", "null"


@dataclass
class World:
    school: Any
    minter: Any
    callers: dict[str, Any]
    item: dict
    job_id: str

    async def token(self, principal: str, permission: Permission) -> str | None:
        if principal == "anonymous":
            return None
        if principal == "client":
            return (await self.minter.client(self.school.org, [permission.value])).token
        if principal == "client_without_scope":
            scopes = sorted(GRANTABLE_SCOPES - {permission.value})
            return (await self.minter.client(self.school.org, scopes)).token
        return self.callers[principal].token


@pytest.fixture
async def world(school, minter, content_gql, content_http) -> World:
    item = await upload(content_gql, content_http, school.instructor.token, PDF, course=school.course)
    job = await content_gql(
        EXPORT, {"input": {"courseId": school.course, "format": "PDF"}}, token=school.instructor.token
    )
    callers = {
        "student": school.student,
        "member": await minter.member(school.org, "student"),
        "instructor": school.instructor,
        "org_admin": school.admin,
        "other_org_admin": school.outsider,
        "site_admin": school.site_admin,
    }
    return World(school, minter, callers, item["item"], job["data"]["exportCourse"]["job"]["id"])


def outcome(body: dict, field: str) -> str:
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    value = body["data"][field]
    if value is None:
        return N
    if isinstance(value, dict) and value.get("__typename", "").endswith("Error"):
        return value["code"]
    return OK


def announce(w: World) -> dict:
    return {
        "input": {
            "name": "more.pdf",
            "size": len(PDF),
            "checksum": hashlib.sha256(PDF).hexdigest(),
            "courseId": w.school.course,
        }
    }


MANAGE_ROW = (U, F, F, OK, OK, F, OK, OK, F)
CASES: list[tuple[str, Permission, str, Any, str, tuple[str, ...]]] = [
    ("contentItem", Permission.VIEW_COURSES, ITEM, lambda w: {"id": w.item["id"]}, "contentItem",
     (U, OK, OK, OK, OK, N, OK, OK, OK)),
    ("requestUpload", Permission.UPDATE_COURSES, REQUEST_UPLOAD, announce, "requestUpload", MANAGE_ROW),
    ("restoreContentVersion", Permission.UPDATE_COURSES, RESTORE,
     lambda w: {"input": {"itemId": w.item["id"], "versionId": w.item["currentVersion"]["id"]}},
     "restoreContentVersion", MANAGE_ROW),
    ("deleteContentItem", Permission.UPDATE_COURSES, DELETE, lambda w: {"input": {"itemId": w.item["id"]}},
     "deleteContentItem", MANAGE_ROW),
    ("exportCourse", Permission.UPDATE_COURSES, EXPORT,
     lambda w: {"input": {"courseId": w.school.course, "format": "PPTX"}}, "exportCourse", MANAGE_ROW),
    ("exportJob", Permission.UPDATE_COURSES, JOB, lambda w: {"id": w.job_id}, "exportJob",
     (U, N, N, OK, OK, N, OK, OK, N)),
]  # fmt: skip


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
async def test_matrix(content_gql, world, case, principal):
    name, permission, document, variables, field, expected = case
    token = await world.token(principal, permission)
    body = await content_gql(document, variables(world), token=token)
    assert outcome(body, field) == expected[PRINCIPALS.index(principal)], (name, principal, body)
