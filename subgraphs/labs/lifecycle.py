"""The worker side of labs: start (provision → health → RUNNING), carry out pause/resume/stop intents, and
the monitor (idle → PAUSED → STOPPED, dead environments → FAILED, reconciliation with the runtime).

The database decides; a runtime only runs environments. Each step first wins its transition in PostgreSQL
(transitions.transition, guarded by the expected status) and then acts, or acts idempotently and then
transitions; the monitor converges whatever a crash left half-done: a PAUSED session whose environment
runs is paused again, STOPPING ones are stopped again, PROVISIONING/STARTING ones whose worker died are
adopted (their IDE answers) or FAILED after the start timeout, and environments without a live session
(orphans) are removed. Nothing here ever stops an environment a live session still owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from subgraphs.core.context import WorkerRuntime
from subgraphs.core.db import utcnow
from subgraphs.core.events import keep_running
from subgraphs.core.settings import Settings
from subgraphs.labs import starting, states, transitions
from subgraphs.labs.models import ExerciseProjection, LabSession, LabTemplate, OrganizationProjection
from subgraphs.labs.runtimes.base import (
    Endpoint,
    LabRuntime,
    LabSpec,
    Resources,
    RuntimeState,
)
from subgraphs.labs.states import S
from subgraphs.labs.transitions import Transition

log = logging.getLogger("coursegraph.labs.lifecycle")

HEALTH_POLL_SECONDS = 0.2


@dataclass
class LabWorkerRuntime(WorkerRuntime):
    """A worker runtime with the lab runtime and this process's bookkeeping of the labs it handles."""

    labs: LabRuntime | None = None  # None until the worker task builds it (make_runtime)
    http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=2.0))
    # Sessions this process is starting right now (the monitor leaves them to their task).
    starting: set[uuid.UUID] = field(default_factory=set)
    # Sessions being stopped by this process (the intent consumer and the monitor may both try).
    stopping: set[uuid.UUID] = field(default_factory=set)

    @property
    def lab_runtime(self) -> LabRuntime:
        """The lab runtime, which the worker task builds before it handles anything."""
        if self.labs is None:
            raise RuntimeError("the labs worker has not built its lab runtime yet")
        return self.labs

    async def close(self) -> None:
        await self.http.aclose()
        if self.labs is not None:
            await self.labs.close()
        await self.live.close()


def health_path(row: LabSession, template: LabTemplate) -> str:
    """The path the IDE answers its health check on (under its base URL when it serves under one)."""
    if not row.serves_base_url:
        return template.health_path
    return f"{base_url(row.id)}{template.health_path.lstrip('/')}"


def base_url(session_id: uuid.UUID) -> str:
    return f"/labs/{session_id}/"  # the proxy's prefix (proxy.PREFIX)


def spec_for(
    row: LabSession,
    template: LabTemplate,
    runtime_name: str,
    starter_files: list[dict[str, str]] | None = None,
    public_url: str = "",
) -> LabSpec:
    command: tuple[str, ...] | None = None
    if runtime_name != "docker" and template.command:  # Docker runs the image's own command
        command = tuple(part.replace("{python}", sys.executable) for part in template.command)
    return LabSpec(
        session_id=row.id,
        user_id=row.user_id,
        organization_id=row.organization_id,
        image=row.image,
        command=command,
        port=template.port,
        health_path=health_path(row, template),
        workspace_key=row.workspace_key,
        resources=Resources(cpus=row.cpus, memory_bytes=row.memory_bytes, pids=row.pids),
        base_url=base_url(row.id) if row.serves_base_url else "",
        origin="{0.scheme}://{0.netloc}".format(urlsplit(public_url)) if public_url else "",
        starter_files=tuple((f["path"], f.get("content", "")) for f in starter_files or ()),
    )


async def healthy(rt: LabWorkerRuntime, endpoint: Endpoint, health_path: str) -> bool:
    try:
        response = await rt.http.get(endpoint.base_url + health_path)
    except httpx.HTTPError:
        return False
    return 200 <= response.status_code < 400


async def _fail(rt: LabWorkerRuntime, session_id: uuid.UUID, expected: Any, reason: str) -> bool:
    row = await transitions.transition(
        rt, session_id, expected, Transition(S.FAILED, f"Failed: {reason}", reason)
    )
    if row is not None:
        with contextlib.suppress(Exception):
            await rt.lab_runtime.stop(session_id)  # removes what is left; the workspace stays
    return row is not None


async def _lost(rt: LabWorkerRuntime, session_id: uuid.UUID) -> None:
    """A start lost its transition: remove the environment unless a live session moved on with it."""
    async with rt.transaction() as session:
        row = await session.get(LabSession, session_id)
    if row is None or row.status in states.TERMINAL or row.status == S.STOPPING:
        with contextlib.suppress(Exception):
            await rt.lab_runtime.stop(session_id)


async def start_session(rt: LabWorkerRuntime, session_id: uuid.UUID) -> S | None:
    """REQUESTED → PROVISIONING → STARTING → RUNNING (or FAILED). None when it was not ours to start."""
    settings = rt.settings.labs
    rt.starting.add(session_id)
    try:
        row = await transitions.transition(
            rt, session_id, {S.REQUESTED}, Transition(S.PROVISIONING, "Provisioning the environment.")
        )
        if row is None:
            return None
        deadline = asyncio.get_running_loop().time() + settings.start_timeout_seconds
        async with rt.transaction() as session:
            template = await session.get(LabTemplate, row.template_id)
            exercise = await session.get(ExerciseProjection, row.exercise_id)
        assert template is not None
        starter = exercise.starter_files if exercise else None
        spec = spec_for(row, template, rt.lab_runtime.name, starter, settings.public_url)

        async def progress(percent: int, message: str) -> None:
            async with rt.transaction() as session:
                locked = await session.get(
                    LabSession, session_id, with_for_update=True, populate_existing=True
                )
                if locked is None or locked.status != S.PROVISIONING:
                    return
                live = await transitions.stream_event(session, locked, message, max(10, min(69, percent)))
            await transitions.publish(rt, session_id, live)

        try:
            endpoint = await asyncio.wait_for(
                rt.lab_runtime.start(spec, progress), settings.start_timeout_seconds
            )
        except TimeoutError:
            await _fail(
                rt, session_id, {S.PROVISIONING}, f"did not start within {settings.start_timeout_seconds:g} s"
            )
            return S.FAILED
        except Exception as exc:  # the runtime's reason is the session's failure reason
            log.warning("lab %s failed to start", session_id, exc_info=True)
            await _fail(
                rt,
                session_id,
                {S.PROVISIONING},
                f"could not start: {exc}" if str(exc) else type(exc).__name__,
            )
            return S.FAILED
        row = await transitions.transition(
            rt,
            session_id,
            {S.PROVISIONING},
            Transition(
                S.STARTING,
                "Waiting for the IDE to answer.",
                values={"endpoint_host": endpoint.host, "endpoint_port": endpoint.port},
            ),
        )
        if row is None:
            await _lost(rt, session_id)
            return None
        return await _await_health(rt, session_id, endpoint, spec.health_path, deadline)
    finally:
        rt.starting.discard(session_id)


async def _await_health(
    rt: LabWorkerRuntime, session_id: uuid.UUID, endpoint: Endpoint, health_path: str, deadline: float
) -> S | None:
    loop = asyncio.get_running_loop()
    while True:
        if await healthy(rt, endpoint, health_path):
            row = await transitions.transition(
                rt, session_id, {S.STARTING}, Transition(S.RUNNING, "Running.")
            )
            if row is None:
                await _lost(rt, session_id)
                return None
            return S.RUNNING
        status = await rt.lab_runtime.poll(session_id)
        if status.state in (RuntimeState.EXITED, RuntimeState.MISSING):
            reason = status.reason or "its environment exited before the IDE answered"
            await _fail(rt, session_id, {S.STARTING}, reason)
            return S.FAILED
        if loop.time() > deadline:
            timeout = rt.settings.labs.start_timeout_seconds
            await _fail(
                rt, session_id, {S.STARTING}, f"the IDE did not answer its health check within {timeout:g} s"
            )
            return S.FAILED
        await asyncio.sleep(HEALTH_POLL_SECONDS)


# --- intents ----------------------------------------------------------------------------------------


async def _current(rt: LabWorkerRuntime, session_id: uuid.UUID) -> LabSession | None:
    async with rt.transaction() as session:
        return await session.get(LabSession, session_id)


async def carry_out_pause(
    rt: LabWorkerRuntime, session_id: uuid.UUID, *, idle_before: datetime | None = None
) -> bool:
    """Freeze the environment, then RUNNING → PAUSED (the owner asked, or idle since `idle_before`).

    Acting first means PAUSED is never shown for a lab still running; a lost transition (a heartbeat came
    in, or it is being stopped) thaws it again if it is still RUNNING."""
    if idle_before is None:
        change = Transition(S.PAUSED, "Paused.", "user", when=lambda r: r.requested_action == "PAUSE")
    else:
        change = Transition(
            S.PAUSED,
            "Paused: no activity.",
            "idle",
            when=lambda r: r.last_activity_at is not None and r.last_activity_at < idle_before,
        )
    row = await _current(rt, session_id)
    if row is None or row.status != S.RUNNING or not change.when(row):
        return False
    try:
        await rt.lab_runtime.pause(session_id)
    except Exception:
        await _check_alive(rt, session_id, {S.RUNNING})
        return False
    return await _transition_or_undo(rt, session_id, S.RUNNING, change, undo=rt.lab_runtime.resume)


async def carry_out_resume(rt: LabWorkerRuntime, session_id: uuid.UUID) -> bool:
    """Thaw the environment, then PAUSED → RUNNING (a vanished environment makes the session FAILED)."""
    row = await _current(rt, session_id)
    if row is None or row.status != S.PAUSED or row.requested_action != "RESUME":
        return False
    try:
        await rt.lab_runtime.resume(session_id)
    except Exception:
        await _check_alive(rt, session_id, {S.PAUSED})
        return False
    if not await _check_alive(rt, session_id, {S.PAUSED}):
        return False
    change = Transition(S.RUNNING, "Running again.", when=lambda r: r.requested_action == "RESUME")
    return await _transition_or_undo(rt, session_id, S.PAUSED, change, undo=rt.lab_runtime.pause)


async def _transition_or_undo(
    rt: LabWorkerRuntime,
    session_id: uuid.UUID,
    status: S,
    change: Transition,
    *,
    undo: Callable[[uuid.UUID], Awaitable[None]],
) -> bool:
    """`status` → the change's status, after the environment already acted. A lost transition undoes that
    act if the lab is still `status`, so the environment matches what is shown."""
    if await transitions.transition(rt, session_id, {status}, change) is not None:
        return True
    row = await _current(rt, session_id)
    if row is not None and row.status == status:
        await undo(session_id)
    return False


async def carry_out_stop(rt: LabWorkerRuntime, session_id: uuid.UUID) -> bool:
    """Remove the environment of a STOPPING session (workspace kept), then STOPPED."""
    if session_id in rt.stopping:
        return False
    rt.stopping.add(session_id)
    try:
        row = await _current(rt, session_id)
        if row is None or row.status != S.STOPPING:
            return False
        await rt.lab_runtime.stop(session_id)
        reason = row.stop_reason or "user"
        change = Transition(S.STOPPED, "Stopped.", reason)
        return await transitions.transition(rt, session_id, {S.STOPPING}, change) is not None
    finally:
        rt.stopping.discard(session_id)


async def _check_alive(rt: LabWorkerRuntime, session_id: uuid.UUID, expected: Any) -> bool:
    status = await rt.lab_runtime.poll(session_id)
    if status.state in (RuntimeState.EXITED, RuntimeState.MISSING):
        await _fail(rt, session_id, expected, status.reason or "its environment disappeared")
        return False
    return True


# --- the monitor ------------------------------------------------------------------------------------


async def monitor_once(rt: LabWorkerRuntime, *, spawn_start: Any = None) -> dict[str, int]:
    """One pass of the lifecycle loop. Returns counts of what it did (for logs and tests)."""
    done = {"paused": 0, "stopped": 0, "failed": 0, "adopted": 0, "orphans": 0, "converged": 0, "started": 0}
    now = utcnow()
    timeout = timedelta(seconds=rt.settings.labs.start_timeout_seconds)
    managed = {m.session_id: m for m in await rt.lab_runtime.list_managed()}
    async with rt.transaction() as session:
        rows = (
            await session.scalars(
                select(LabSession).where(
                    (LabSession.status.in_([s.value for s in states.LIVE]))
                    | (LabSession.id.in_(list(managed)))
                )
            )
        ).all()
        org_ids = {r.organization_id for r in rows}
        orgs = {
            p.organization_id: states.OrgLabSettings.of(p.settings)
            for p in (
                await session.scalars(
                    select(OrganizationProjection).where(OrganizationProjection.organization_id.in_(org_ids))
                )
            ).all()
        }
        templates = {t.id: t for t in (await session.scalars(select(LabTemplate))).all()}
    by_id = {r.id: r for r in rows}
    await report_available(rt, list(templates.values()))

    # Orphans: environments no live session accounts for.
    for sid in managed:
        row = by_id.get(sid)
        if row is None or row.status in states.TERMINAL:
            with contextlib.suppress(Exception):
                await rt.lab_runtime.stop(sid)
            done["orphans"] += 1

    for row in rows:
        if row.status in states.TERMINAL or row.id in rt.starting:
            continue
        org = orgs.get(row.organization_id) or states.OrgLabSettings.of(None)
        env = managed.get(row.id)
        status = S(row.status)
        try:
            if status == S.REQUESTED:
                # Its event was lost or its worker died before claiming it: start it (the claim decides).
                if spawn_start is not None and now - row.status_changed_at > timedelta(seconds=2):
                    spawn_start(row.id)
                    done["started"] += 1
            elif status in (S.PROVISIONING, S.STARTING):
                template = templates.get(row.template_id)
                endpoint = env.endpoint if env and env.state == RuntimeState.RUNNING else None
                if endpoint and template and await healthy(rt, endpoint, health_path(row, template)):
                    # Its worker died after the environment came up: adopt it.
                    values = {"endpoint_host": endpoint.host, "endpoint_port": endpoint.port}
                    if status == S.PROVISIONING:
                        await transitions.transition(
                            rt, row.id, {S.PROVISIONING}, Transition(S.STARTING, "Adopted.", values=values)
                        )
                    if await transitions.transition(
                        rt, row.id, {S.STARTING}, Transition(S.RUNNING, "Running.")
                    ):
                        done["adopted"] += 1
                elif now - row.status_changed_at > timeout:
                    reason = (
                        f"did not start within {rt.settings.labs.start_timeout_seconds:g} s "
                        "(interrupted; found by the reconciler)"
                    )
                    if await _fail(rt, row.id, {status}, reason):
                        done["failed"] += 1
            elif status == S.STOPPING:
                if await carry_out_stop(rt, row.id):
                    done["stopped"] += 1
            elif status in (S.RUNNING, S.PAUSED):
                if env is None or env.state in (RuntimeState.EXITED, RuntimeState.MISSING):
                    # Confirm with a fresh poll (the listing may predate a start that just finished).
                    if not await _check_alive(rt, row.id, {status}):
                        done["failed"] += 1
                    continue
                if row.started_at and now - row.started_at > timedelta(seconds=org.max_session_seconds):
                    moved = await transitions.transition(
                        rt,
                        row.id,
                        {status},
                        Transition(
                            S.STOPPING, "Stopping: the session reached its maximum length.", "max_session"
                        ),
                    )
                    if moved and await carry_out_stop(rt, row.id):
                        done["stopped"] += 1
                    continue
                if status == S.RUNNING:
                    if row.requested_action == "PAUSE":
                        done["paused"] += await carry_out_pause(rt, row.id)
                        continue
                    idle_before = now - timedelta(seconds=org.idle_timeout_seconds)
                    if row.last_activity_at and row.last_activity_at < idle_before:
                        done["paused"] += await carry_out_pause(rt, row.id, idle_before=idle_before)
                        continue
                    if env.state == RuntimeState.PAUSED:  # a resume was interrupted
                        await rt.lab_runtime.resume(row.id)
                        done["converged"] += 1
                else:
                    if row.requested_action == "RESUME":
                        await carry_out_resume(rt, row.id)
                        continue
                    if row.paused_at and now - row.paused_at > timedelta(seconds=org.stop_timeout_seconds):
                        moved = await transitions.transition(
                            rt,
                            row.id,
                            {S.PAUSED},
                            Transition(S.STOPPING, "Stopping: paused too long.", "idle"),
                        )
                        if moved and await carry_out_stop(rt, row.id):
                            done["stopped"] += 1
                        continue
                    if env.state == RuntimeState.RUNNING:  # a pause was interrupted
                        await rt.lab_runtime.pause(row.id)
                        done["converged"] += 1
        except Exception:
            log.exception("lab monitor: session %s", row.id)
    return done


async def report_available(rt: LabWorkerRuntime, templates: list[LabTemplate]) -> None:
    """Tell the API which IDEs this worker's runtime can start (starting.available_ides), for a while: a
    platform whose worker is gone offers none."""
    available = []
    for template in templates:
        try:
            if await rt.lab_runtime.supports(image=template.image, command=template.command):
                available.append(template.ide)
        except Exception:
            log.exception("lab monitor: cannot tell whether %s labs can start", template.ide)
    ttl = max(30, int(3 * rt.settings.labs.monitor_interval_seconds))
    await rt.redis.set(starting.AVAILABLE_KEY, json.dumps(sorted(available)), ex=ttl)


async def make_runtime(settings: Settings) -> LabRuntime:
    """The configured runtime (runtimes.build_runtime: with `labs.instance` set, only that instance's Docker
    labs are managed, so platforms or test runs sharing one engine never reconcile each other's)."""
    from subgraphs.labs.runtimes import build_runtime

    return await build_runtime(settings)


class LabsLifecycle:
    """The worker task: a consumer of `events.labs` (intents) and the periodic monitor, one lab runtime."""

    def __init__(self, rt: LabWorkerRuntime, consumer: Any) -> None:
        self.rt = rt
        self.consumer = consumer
        self.tasks: set[asyncio.Task] = set()
        self._starts = asyncio.Semaphore(max(1, rt.settings.labs.max_concurrent_starts))

    def spawn_start(self, session_id: uuid.UUID) -> None:
        if session_id in self.rt.starting:
            return
        self.rt.starting.add(session_id)  # claimed for this process before the task runs

        async def run() -> None:
            async with self._starts:
                try:
                    await start_session(self.rt, session_id)
                except Exception:
                    log.exception("lab %s: start failed unexpectedly", session_id)
                    with contextlib.suppress(Exception):
                        await _fail(
                            self.rt, session_id, {S.PROVISIONING, S.STARTING}, "the worker failed to start it"
                        )

        task = asyncio.create_task(run(), name=f"lab-start-{session_id}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        task.add_done_callback(lambda _t: self.rt.starting.discard(session_id))

    async def monitor(self, stop: asyncio.Event) -> None:
        interval = self.rt.settings.labs.monitor_interval_seconds
        while keep_running(stop):
            try:
                await monitor_once(self.rt, spawn_start=self.spawn_start)
            except Exception:
                log.exception("lab monitor failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    async def run(self, stop: asyncio.Event) -> None:
        if self.rt.labs is None:
            self.rt.labs = await make_runtime(self.rt.settings)
        try:
            await asyncio.gather(self.consumer.run(stop), self.monitor(stop))
        finally:
            for task in list(self.tasks):
                task.cancel()
            for task in list(self.tasks):
                with contextlib.suppress(BaseException):
                    await task
            await self.rt.close()  # environments keep running: the next worker adopts them
