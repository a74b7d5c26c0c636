"""Tenant isolation as a matrix: every query, mutation and entity of the courses subgraph x every kind of
caller, one expected answer per cell. The school under test is A; "other_org_admin" administers B only.

Members' PLATFORM roles disagree with their membership roles (factories.School), so only memberships can
explain the answers. API clients are bound to A: "client" holds exactly the permission the operation
needs, "client_without_scope" every other scope (so it still sees published courses through
UPDATE_COURSES, which lets it see everything of A). Each cell gets a fresh world.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from subgraphs.core.rbac import GRANTABLE_SCOPES, Permission
from subgraphs.courses.enrollment import enroll
from subgraphs.courses.models import Module
from tests.subgraphs.courses.factories import School
from tests.subgraphs.courses.queries import (
    ARCHIVE,
    COURSE,
    COURSES,
    CREATE_COURSE,
    CREATE_EXERCISE,
    CREATE_LESSON,
    CREATE_MODULE,
    DELETE_COURSE,
    DROP,
    ENROLL,
    ENTITIES,
    PUBLISH,
    UPDATE_COURSE,
    reps,
)

PRINCIPALS = (
    "anonymous",
    "student",
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
    courses: Any
    school: School
    other_admin: Any
    site_admin: Any
    published: str
    draft: str
    draft_module: str
    enrollment: str

    async def token(self, principal: str, permission: Permission) -> str | None:
        minter = self.courses.minter
        if principal == "anonymous":
            return None
        if principal == "client":
            return (await minter.client(self.school.org, [permission.value])).token
        if principal == "client_without_scope":
            return (await minter.client(self.school.org, sorted(GRANTABLE_SCOPES - {permission.value}))).token
        return {
            "student": self.school.student,
            "instructor": self.school.instructor,
            "org_admin": self.school.admin,
            "other_org_admin": self.other_admin,
            "site_admin": self.site_admin,
        }[principal].token


@pytest.fixture
async def world(courses, courses_runtime) -> World:
    school = await courses.school()
    other = await courses.school()
    site_admin = await courses.minter.user("site_admin")
    published = await courses.course(school)
    draft = await courses.course(school, publish=False)
    async with courses_runtime.transaction() as session:
        from sqlalchemy import select

        module = await session.scalar(select(Module.id).where(Module.course_id == draft.id))
    enrollment = await enroll(courses_runtime, school.student.meta, course_id=published.id)
    return World(
        courses,
        school,
        other.admin,
        site_admin,
        str(published.id),
        str(draft.id),
        str(module),
        str(enrollment.id),
    )


def outcome(body: dict, field: str) -> str:
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    value = body["data"][field]
    if value is None:
        return N
    if isinstance(value, dict) and value.get("__typename", "").endswith("Error"):
        return value["code"]
    return OK


def entity(body: dict) -> str:
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    [value] = body["data"]["_entities"]
    return N if value is None else OK


def count(body: dict) -> str:
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    return str(len(body["data"]["courses"]["edges"]))


def user_enrollments(body: dict) -> str:
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    [value] = body["data"]["_entities"]
    return "none" if value is None else str(len(value["enrollments"]["edges"]))


# (name, permission the operation needs, document, variables(world), reader, expected per PRINCIPALS)
CASES: list[tuple[str, Permission, str, Any, Any, tuple[str, ...]]] = [
    (
        "course(published)",
        Permission.VIEW_COURSES,
        COURSE,
        lambda w: {"id": w.published},
        lambda b: outcome(b, "course"),
        (U, OK, OK, OK, N, OK, OK, OK),
    ),
    (
        "course(draft)",
        Permission.UPDATE_COURSES,
        COURSE,
        lambda w: {"id": w.draft},
        lambda b: outcome(b, "course"),
        (U, N, OK, OK, N, OK, OK, N),
    ),
    (
        "courses(org A)",
        Permission.VIEW_COURSES,
        COURSES,
        lambda w: {"filter": {"organizationId": w.school.org}},
        count,
        (U, "1", "2", "2", "0", "2", "1", "2"),
    ),
    (
        "createCourse",
        Permission.CREATE_COURSES,
        CREATE_COURSE,
        lambda w: {
            "input": {"organizationId": w.school.org, "title": "N", "slug": f"n-{uuid.uuid4().hex[:8]}"}
        },
        lambda b: outcome(b, "createCourse"),
        (U, F, OK, OK, F, OK, U, U),
    ),
    (
        "updateCourse",
        Permission.UPDATE_COURSES,
        UPDATE_COURSE,
        lambda w: {"input": {"id": w.draft, "title": "X"}},
        lambda b: outcome(b, "updateCourse"),
        (U, F, OK, OK, F, OK, OK, F),
    ),
    (
        "publishCourse",
        Permission.PUBLISH_COURSES,
        PUBLISH,
        lambda w: {"input": {"id": w.draft}},
        lambda b: outcome(b, "publishCourse"),
        (U, F, OK, OK, F, OK, OK, F),
    ),
    (
        "archiveCourse",
        Permission.UPDATE_COURSES,
        ARCHIVE,
        lambda w: {"input": {"id": w.published}},
        lambda b: outcome(b, "archiveCourse"),
        (U, F, OK, OK, F, OK, OK, F),
    ),
    (
        "deleteCourse",
        Permission.UPDATE_COURSES,
        DELETE_COURSE,
        lambda w: {"input": {"id": w.draft}},
        lambda b: outcome(b, "deleteCourse"),
        (U, F, OK, OK, F, OK, OK, F),
    ),
    (
        "createModule",
        Permission.UPDATE_COURSES,
        CREATE_MODULE,
        lambda w: {"input": {"courseId": w.draft, "title": "M"}},
        lambda b: outcome(b, "createModule"),
        (U, F, OK, OK, F, OK, OK, F),
    ),
    (
        "createLesson",
        Permission.UPDATE_COURSES,
        CREATE_LESSON,
        lambda w: {"input": {"moduleId": w.draft_module, "title": "L"}},
        lambda b: outcome(b, "createLesson"),
        (U, F, OK, OK, F, OK, OK, F),
    ),
    (
        "createExercise",
        Permission.UPDATE_COURSES,
        CREATE_EXERCISE,
        lambda w: {"input": {"courseId": w.draft, "title": "E"}},
        lambda b: outcome(b, "createExercise"),
        (U, F, OK, OK, F, OK, OK, F),
    ),
    # The student is enrolled already: ALREADY_ENROLLED proves they got past the checks.
    (
        "enroll",
        Permission.VIEW_COURSES,
        ENROLL,
        lambda w: {"input": {"courseId": w.published}},
        lambda b: outcome(b, "enroll"),
        (U, "ALREADY_ENROLLED", OK, OK, F, OK, U, U),
    ),
    (
        "dropEnrollment",
        Permission.UPDATE_COURSES,
        DROP,
        lambda w: {"input": {"enrollmentId": w.enrollment}},
        lambda b: outcome(b, "dropEnrollment"),
        (U, OK, OK, OK, F, OK, OK, F),
    ),
    (
        "_entities Course(draft)",
        Permission.UPDATE_COURSES,
        ENTITIES,
        lambda w: reps("Course", w.draft),
        entity,
        (N, N, OK, OK, N, OK, OK, N),
    ),
    (
        "_entities Course(published)",
        Permission.VIEW_COURSES,
        ENTITIES,
        lambda w: reps("Course", w.published),
        entity,
        (N, OK, OK, OK, N, OK, OK, OK),
    ),
    (
        "_entities Enrollment",
        Permission.UPDATE_COURSES,
        ENTITIES,
        lambda w: reps("Enrollment", w.enrollment),
        entity,
        (N, OK, OK, OK, N, OK, OK, N),
    ),
    (
        "_entities User(student).enrollments",
        Permission.VIEW_COURSES,
        ENTITIES,
        lambda w: reps("User", w.school.student.id),
        user_enrollments,
        ("none", "1", "0", "0", "0", "1", "0", "0"),
    ),
]


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
async def test_matrix(courses_gql, world, case, principal):
    name, permission, document, variables, read, expected = case
    token = await world.token(principal, permission)
    body = await courses_gql(document, variables(world), token=token)
    assert read(body) == expected[PRINCIPALS.index(principal)], (name, principal, body)
