"""Runs the domains' seed hooks (`coursegraph seed`, `coursegraph dev`): each domain's optional module
`subgraphs.<domain>.seed` defines `demo` and/or `scale`, run here in DOMAINS order. What a hook receives is
the kernel's seed hook API (core/seeding.py), the one thing domains import for seeding.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

from subgraphs.core.domains import DOMAINS
from subgraphs.core.seeding import DEMO_USERS, DemoSeeding, ScaleSeeding
from subgraphs.core.settings import Settings


def seed_module(domain: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"subgraphs.{domain}.seed")
    except ModuleNotFoundError as exc:
        if exc.name != f"subgraphs.{domain}.seed":
            raise
        return None


def hooks(name: str) -> list[Callable[[Any], Awaitable[None]]]:
    """Each domain's seed hook `name`, in DOMAINS order."""
    found = []
    for domain in DOMAINS:
        module = seed_module(domain)
        if module is not None and hasattr(module, name):
            found.append(getattr(module, name))
    return found


async def seed_demo(settings: Settings) -> list[tuple[str, str]]:
    """Idempotent demo data (never in production): one account per role, emails verified; the demo
    organization with its members; and each domain's demo content, made through the service functions as
    the demo people would, so its events reach analytics once the worker runs."""
    from subgraphs.core.app import close_runtime, create_runtime

    if settings.is_production:
        raise RuntimeError("refusing to seed demo accounts in production")
    # The verifier's key loader is never called: the seed acts through services, not HTTP.
    runtime = await create_runtime("seed", settings, key_loader=lambda **_: None)
    try:
        seeding = DemoSeeding(runtime, settings)
        for hook in hooks("demo"):
            await hook(seeding)
    finally:
        await close_runtime(runtime)
    return [(email, role) for email, _, role in DEMO_USERS]


async def seed_scale(
    settings: Settings, *, courses: int, students: int, enrollments_per_student: int, attempts: int
) -> dict[str, int]:
    """Benchmark data in ONE transaction, bulk-inserted with COPY: the organization "Scale Academy", 5
    instructors, `students` students (password: the demo password, emails SCALE_STUDENT_EMAIL), published
    courses with lessons, an exercise and a quiz each, enrollments and submitted attempts. Idempotent (skips
    when it is there); never in production. Returns what was written ({} when it was there)."""
    from subgraphs.core.db import create_engine, create_sessionmaker

    if settings.is_production:
        raise RuntimeError("refusing to seed benchmark data in production")
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    try:
        async with sessionmaker() as session, session.begin():
            seeding = ScaleSeeding(
                session,
                settings,
                courses=courses,
                students=students,
                enrollments_per_student=enrollments_per_student,
                attempts=attempts,
            )
            for hook in hooks("scale"):
                await hook(seeding)
                if seeding.present:
                    return {}
        for after in seeding.after_commit:
            await after()
    finally:
        await engine.dispose()
    return seeding.counts
