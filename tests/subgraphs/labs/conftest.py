"""Fixtures of the labs subgraph: its ASGI app, a GraphQL client, statement counting on its engine, and
`LabWorld` — the worker side running in-process for real: the outbox relay, the labs projection consumer
and the labs lifecycle (intent consumer + monitor) on a real ProcessRuntime in a per-test directory. Its
templates run the tests' tiny IDE (tests/tiny_ide.py, ~50 ms to start) unless a test asks for the real
IDEs (`world.use_real_ides()`: JupyterLab, the web terminal). Classrooms (an organization, a published
course with an exercise, an enrolled student) are made through the courses and organizations services
and projected through events."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, update

from subgraphs.core.domains import WorkerDeps, outboxes
from subgraphs.core.events import OutboxRelay
from subgraphs.core.settings import Settings
from subgraphs.courses.enrollment import enroll
from subgraphs.courses.exercises import create_exercise
from subgraphs.labs.models import (
    EnrollmentProjection,
    ExerciseProjection,
    LabSession,
    LabTemplate,
    OrganizationProjection,
)
from subgraphs.labs.projection import LabsProjectionConsumer
from subgraphs.labs.runtimes.base import LabRuntime
from subgraphs.labs.runtimes.process import ProcessRuntime
from subgraphs.labs.starting import AVAILABLE_KEY
from subgraphs.labs.worker import build_lifecycle
from subgraphs.organizations import tenants as org_tenants
from tests.conftest import GraphQLClient, QueryCounter
from tests.labs_support import TINY_IDE_HEALTH, TINY_IDE_TEMPLATE_COMMAND
from tests.services import uvicorn_serving
from tests.subgraphs.courses.conftest import courses, courses_app, courses_runtime  # noqa: F401 - fixtures
from tests.subgraphs.courses.factories import CourseFactory, School
from tests.subgraphs.organizations.conftest import minter, organizations_app  # noqa: F401 - fixtures
from tests.subgraphs.organizations.factories import Caller
from tests.waiting import eventually

TIMEOUT = 40.0
KILL_TIMEOUT = 30.0


def _awaiting(task: asyncio.Task) -> str:
    """The task's chain of awaits, innermost last (Task.get_stack shows only the outermost frame)."""
    lines, awaited = [repr(task)], task.get_coro()
    while awaited is not None:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        if frame is None:
            lines.append(f"  waits on {awaited!r}")
            break
        lines.append(f"  {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    return "\n".join(lines)


@pytest.fixture(scope="session")
async def labs_app(database: None, settings: Settings) -> AsyncIterator[Any]:
    from subgraphs.labs.app import create_app
    from subgraphs.users.keys import SigningKeys

    app = create_app(settings, key_loader_factory=lambda s: SigningKeys(s).get_public)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="session")
def labs_runtime(labs_app: Any) -> Any:
    return labs_app.state.runtime


@pytest.fixture
async def labs_http(labs_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=labs_app, client=("127.0.0.1", 50005))
    async with httpx.AsyncClient(transport=transport, base_url="http://labs.test") as client:
        yield client


@pytest.fixture
def labs_gql(labs_http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(labs_http)


@pytest.fixture
def labs_count_queries(labs_runtime: Any) -> Any:
    @contextmanager
    def counting():
        counter = QueryCounter()
        event.listen(labs_runtime.engine.sync_engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(labs_runtime.engine.sync_engine, "before_cursor_execute", counter)

    return counting


@dataclass
class Classroom:
    school: School
    course_id: uuid.UUID
    exercise_id: uuid.UUID
    outsider: Caller  # admin of another organization
    site_admin: Caller


class LabWorld:
    """The worker side, in-process and real. `start()` runs it; `kill()` cancels it like a crash."""

    def __init__(self, labs_runtime: Any, settings: Settings, root: Path, factory: CourseFactory) -> None:
        self.api = labs_runtime
        self.root = root
        self.courses = factory
        self.settings = settings.model_copy(
            update={
                "labs": settings.labs.model_copy(
                    update={
                        "monitor_interval_seconds": 0.2,
                        "start_timeout_seconds": 20.0,
                        "workspace_dir": root,
                    }
                )
            }
        )
        self.tasks: list[asyncio.Task] = []
        self.templates: dict[str, dict[str, Any]] = {}
        self.stop_event = asyncio.Event()
        self.lifecycle: Any = None
        self.labs: LabRuntime | None = None

    def new_runtime(self) -> LabRuntime:
        return ProcessRuntime(self.root)

    def deps(self) -> WorkerDeps:
        return WorkerDeps(
            redis=self.api.redis,
            sessionmaker=self.api.sessionmaker,
            settings=self.settings,
            consumer_options={"block_ms": 20, "claim_idle_ms": 500},
        )

    async def use_test_ide(self) -> None:
        """Every template runs the tiny test IDE (the real ones are kept for `restore_templates`)."""
        async with self.api.transaction() as session:
            rows = (await session.scalars(select(LabTemplate))).all()
            self.templates = self.templates or {
                r.ide: {
                    "command": r.command,
                    "health_path": r.health_path,
                    "serves_base_url": r.serves_base_url,
                }
                for r in rows
            }
            await session.execute(
                update(LabTemplate).values(
                    command=TINY_IDE_TEMPLATE_COMMAND, health_path=TINY_IDE_HEALTH, serves_base_url=False
                )
            )

    async def use_real_ides(self, *ides: str) -> None:
        """These templates run what the platform runs (JupyterLab, the web terminal)."""
        await self.restore_templates(*ides)

    async def restore_templates(self, *ides: str) -> None:
        async with self.api.transaction() as session:
            for ide, values in self.templates.items():
                if not ides or ide in ides:
                    await session.execute(update(LabTemplate).where(LabTemplate.ide == ide).values(**values))

    async def start(self, labs: LabRuntime | None = None) -> None:
        """Relay, projection consumer and lifecycle as tasks; the API's `usage` reads the same runtime."""
        self.stop_event = asyncio.Event()
        self.labs = labs or self.new_runtime()
        self.api.extras["labs"] = self.labs
        relay = OutboxRelay(self.api.sessionmaker, self.api.redis, outboxes(), poll_interval=0.02)
        projection = LabsProjectionConsumer(
            self.api.redis, self.api.sessionmaker, name=f"t-{uuid.uuid4().hex[:6]}", block_ms=20
        )
        self.lifecycle = build_lifecycle(self.deps(), self.labs, name=f"t-{uuid.uuid4().hex[:6]}")
        # The test owns the runtime's life: the lifecycle must not close it when killed.
        self.tasks = [
            asyncio.create_task(relay.run(self.stop_event)),
            asyncio.create_task(projection.run(self.stop_event)),
            asyncio.create_task(self.lifecycle.run(self.stop_event)),
        ]

    async def kill(self) -> None:
        """Cancel every worker task at once (a crash: nothing finishes its step).

        A task still running KILL_TIMEOUT after its cancellation swallowed it somewhere: fail with where
        each one waits instead of hanging the run."""
        tasks, self.tasks = self.tasks, []
        if not tasks:
            return
        for task in tasks:
            task.cancel()
        _, pending = await asyncio.wait(tasks, timeout=KILL_TIMEOUT)
        stuck = [_awaiting(task) for task in pending]
        self.stop_event.set()  # so a task that swallowed its cancellation leaves its loop when it wakes
        for task in pending:
            task.cancel()
        for task in tasks:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: a crash-cancelled task may end in any exception
        assert not stuck, "worker tasks ignored their cancellation:\n" + "\n".join(stuck)

    async def shutdown(self) -> None:
        self.stop_event.set()
        try:
            await self.kill()
        finally:
            runtime = self.new_runtime()
            for lab in await runtime.list_managed():  # nothing a test started outlives it
                with contextlib.suppress(Exception):
                    await runtime.stop(lab.session_id)
            await runtime.close()

    # --- data ------------------------------------------------------------------------------------

    async def classroom(self, orgs: Any, *, ide: str = "VSCODE", **org_settings: Any) -> Classroom:
        school = await self.courses.school()
        course = await self.courses.course(school)
        exercise = await create_exercise(
            self.courses.runtime,
            school.instructor.meta,
            course_id=course.id,
            title="FizzBuzz",
            ide=ide,
        )
        await enroll(self.courses.runtime, school.student.meta, course_id=course.id)
        if org_settings:
            await org_tenants.update_organization(
                orgs.runtime, school.admin.meta, id=uuid.UUID(school.org), settings=org_settings
            )
        outsider = await orgs.user("student")
        await orgs.organization(outsider, name="Elsewhere")
        room = Classroom(school, course.id, exercise.id, outsider, await orgs.user("site_admin"))
        await self.projected(room, **org_settings)
        return room

    async def projected(self, room: Classroom, **org_settings: Any) -> None:
        async def ready() -> bool:
            async with self.api.transaction() as session:
                ex = await session.get(ExerciseProjection, room.exercise_id)
                en = await session.get(
                    EnrollmentProjection, (room.course_id, uuid.UUID(room.school.student.id))
                )
                org = await session.get(OrganizationProjection, uuid.UUID(room.school.org))
            settings_ok = org is not None and all(org.settings.get(k) == v for k, v in org_settings.items())
            return ex is not None and en is not None and settings_ok

        await eventually(ready, timeout=TIMEOUT, what="the classroom projected into labs")

    async def row(self, session_id: Any) -> LabSession:
        async with self.api.transaction() as session:
            row = await session.get(LabSession, uuid.UUID(str(session_id)))
        assert row is not None
        return row

    async def status_becomes(self, session_id: Any, *statuses: str, timeout: float = TIMEOUT) -> LabSession:
        async def check() -> LabSession | None:
            row = await self.row(session_id)
            return row if row.status in statuses else None

        return await eventually(check, timeout=timeout, what=f"lab {session_id} to become {statuses}")


@pytest.fixture
async def world(
    labs_runtime: Any,
    settings: Settings,
    tmp_path: Path,
    courses: CourseFactory,  # noqa: F811
) -> AsyncIterator[LabWorld]:
    w = LabWorld(labs_runtime, settings, tmp_path / "labs", courses)
    await w.use_test_ide()
    await w.start()
    await eventually(
        lambda: labs_runtime.redis.exists(AVAILABLE_KEY), what="the worker reported what can start"
    )
    try:
        yield w
    finally:
        try:
            await w.shutdown()
        finally:
            labs_runtime.extras.pop("labs", None)
            await w.restore_templates()


@contextlib.asynccontextmanager
async def serve_proxy(settings: Settings, read_timeout: float) -> AsyncIterator[str]:
    """The labs app (its proxy) served by a real uvicorn on a free port; yields its base URL."""
    from subgraphs.labs.app import create_app
    from subgraphs.users.keys import SigningKeys

    labs = settings.labs.model_copy(update={"proxy_read_timeout_seconds": read_timeout})
    settings = settings.model_copy(update={"labs": labs})
    app = create_app(settings, key_loader_factory=lambda s: SigningKeys(s).get_public)
    async with uvicorn_serving(app, lifespan="on") as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
async def proxy_url(settings) -> AsyncIterator[str]:
    # A short read timeout: the test IDE's /never-answers is cut off quickly.
    async with serve_proxy(settings, read_timeout=1.0) as url:
        yield url
