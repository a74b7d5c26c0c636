"""The users domain's seed hooks (core/seeding.py): the demo accounts, and the benchmark's people."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from subgraphs.core.db import utcnow
from subgraphs.core.seeding import (
    DEMO_PASSWORD,
    DEMO_USERS,
    SCALE_STUDENT_EMAIL,
    DemoSeeding,
    ScaleSeeding,
    copy_rows,
)
from subgraphs.users.models import User
from subgraphs.users.passwords import hash_password

SCALE_INSTRUCTOR_EMAIL = "scale-instructor-{}@learners.coursegraph.dev"
SCALE_INSTRUCTORS = 5


async def demo(seeding: DemoSeeding) -> None:
    """One account per role (emails verified), created once."""
    password_hash = await hash_password(DEMO_PASSWORD, seeding.settings.auth)
    emails = [email for email, _, _ in DEMO_USERS]
    async with seeding.runtime.transaction() as session:
        existing = set((await session.scalars(select(User.email))).all())
        for email, name, role in DEMO_USERS:
            if email not in existing:
                session.add(
                    User(
                        email=email,
                        full_name=name,
                        role=role,
                        password_hash=password_hash,
                        email_verified=True,
                    )
                )
    async with seeding.runtime.transaction() as session:
        seeding.users.update(
            (await session.execute(select(User.email, User.id).where(User.email.in_(emails)))).all()
        )


async def scale(seeding: ScaleSeeding) -> None:
    """5 instructors and `students` students (the demo password), unless they are there."""
    session = seeding.session
    if await session.scalar(select(User.id).where(User.email == SCALE_INSTRUCTOR_EMAIL.format(0))):
        seeding.present = True
        return
    password_hash = await hash_password(DEMO_PASSWORD, seeding.settings.auth)
    now = utcnow()
    seeding.instructors = [uuid.uuid4() for _ in range(SCALE_INSTRUCTORS)]
    seeding.learners = [uuid.uuid4() for _ in range(seeding.students)]
    people = [
        (i, SCALE_INSTRUCTOR_EMAIL.format(n), f"Scale Instructor {n}", "instructor")
        for n, i in enumerate(seeding.instructors)
    ] + [
        (u, SCALE_STUDENT_EMAIL.format(n), f"Scale Student {n}", "student")
        for n, u in enumerate(seeding.learners)
    ]
    await copy_rows(
        session,
        User.__table__,
        [
            "id",
            "email",
            "password_hash",
            "full_name",
            "role",
            "is_active",
            "email_verified",
            "created_at",
            "updated_at",
        ],
        [(i, e, password_hash, name, role, True, True, now, now) for i, e, name, role in people],
    )
    seeding.counts["users"] = len(people)
