"""The seed hook API: what a domain's demo and benchmark data hooks receive (tooling/seed_runner.py runs
them, in DOMAINS order, for `coursegraph seed` and `coursegraph dev`; each domain writes its own tables).

A domain seeds by defining, in its optional module `subgraphs.<domain>.seed`, `async def demo(seeding:
DemoSeeding)` and/or `async def scale(seeding: ScaleSeeding)`. What one domain's data needs of another's
(the demo people's ids, the demo organization, the course the demo quiz belongs to) travels in the seeding
object, never through imports. Who the demo people are is the kernel's: every domain seeds around them.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.core.auth import Principal
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.rbac import Caller, Role
from subgraphs.core.settings import Settings

DEMO_PASSWORD = "coursegraph-demo"
DEMO_USERS = (
    ("admin@coursegraph.dev", "Ada Admin", "site_admin"),
    ("instructor@coursegraph.dev", "Ivan Instructor", "instructor"),
    ("instructor2@coursegraph.dev", "Ines Instructor", "instructor"),
    ("student@coursegraph.dev", "Sam Student", "student"),
    ("student2@coursegraph.dev", "Sia Student", "student"),
)
# Their roles in the demo organization "Demo Academy" (slug demo-academy).
DEMO_MEMBERSHIPS = {
    "admin@coursegraph.dev": "organization_admin",
    "instructor@coursegraph.dev": "instructor",
    "instructor2@coursegraph.dev": "instructor",
    "student@coursegraph.dev": "student",
    "student2@coursegraph.dev": "student",
}

SCALE_ORGANIZATION_SLUG = "scale-academy"
SCALE_STUDENT_EMAIL = "scale-student-{:05d}@learners.coursegraph.dev"


@dataclass(frozen=True)
class SeededCourse:
    """The demo course other domains seed into (quizzes: its quiz and attempts)."""

    course_id: uuid.UUID
    status: str
    enrollments: list[tuple[uuid.UUID, uuid.UUID, str]]  # (enrollment id, user id, status)


@dataclass
class DemoSeeding:
    """`demo` hooks read what earlier domains filled in and fill in their part."""

    runtime: Runtime
    settings: Settings
    users: dict[str, uuid.UUID] = field(default_factory=dict)  # email -> user id (users)
    organization_id: uuid.UUID | None = None  # the demo organization (organizations)
    course: SeededCourse | None = None  # (courses)

    def acting(self, email: str) -> RequestMeta:
        """A request of a demo person, as the services see one (they seed as the people would act)."""
        role = next(Role(role) for address, _, role in DEMO_USERS if address == email)
        principal = Principal(subject=str(self.users[email]), kind="user", role=role, email_verified=True)
        return RequestMeta(Caller.of(principal, self.runtime.redis), request_id="seed")


@dataclass
class ScaleSeeding:
    """`scale` hooks write in ONE transaction (`session`), with COPY (`copy_rows`)."""

    session: AsyncSession
    settings: Settings
    courses: int
    students: int
    enrollments_per_student: int
    attempts: int
    present: bool = False  # set by the first hook that finds the data there: nothing more is written
    instructors: list[uuid.UUID] = field(default_factory=list)  # (users)
    learners: list[uuid.UUID] = field(default_factory=list)  # (users)
    organization_id: uuid.UUID | None = None  # (organizations)
    course_instructors: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # course -> its (courses)
    enrollments: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]] = field(
        default_factory=list
    )  # (e, course, user)
    counts: dict[str, int] = field(default_factory=dict)  # what was written, for the command's output
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


async def copy_rows(session: AsyncSession, table: Any, columns: list[str], rows: list[tuple]) -> None:
    """Bulk insert with PostgreSQL COPY (binary) on the session's connection."""
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None, "an open connection has its asyncpg connection"
    await raw.copy_records_to_table(table.name, schema_name=table.schema, columns=columns, records=rows)
