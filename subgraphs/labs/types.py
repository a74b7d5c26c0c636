"""GraphQL types of the labs subgraph."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from subgraphs.contracts.vocabulary import LabIde
from subgraphs.core.entities import from_row
from subgraphs.core.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    ValidationError,
)
from subgraphs.core.federation import PERSON, Stub, for_caller, load_reference, owned_reference, stub
from subgraphs.core.federation import CourseStub as Course
from subgraphs.core.federation import OrganizationStub as Organization
from subgraphs.core.ids import to_id
from subgraphs.core.pages import connection_field, page_connection, stub_connection, stub_connection_field
from subgraphs.core.pagination import Connection, list_size
from subgraphs.core.rbac import Permission, permitted
from subgraphs.core.shared_results import shared_projection
from subgraphs.labs import access, models, starting, states
from subgraphs.labs.errors import (
    InvalidTransitionError,
    LabCapacityExceededError,
    LabLimitReachedError,
    NotEnrolledError,
    TemplateNotAllowedError,
)

if TYPE_CHECKING:
    from subgraphs.core.context import Runtime
    from subgraphs.labs.runtimes.base import LabRuntime

log = logging.getLogger("coursegraph.labs")

# strawberry.enum makes the domain's enum itself the GraphQL enum: fields are annotated with the domain's.
strawberry.enum(LabIde, name="LabIde", description="The IDE a lab opens for an exercise.")
strawberry.enum(
    states.LabStatus,
    name="LabStatus",
    description="REQUESTED → PROVISIONING → STARTING → RUNNING ⇄ PAUSED → STOPPING → STOPPED, or FAILED.",
)


# --- stubs of other subgraphs' entities ----------------------------------------------------------------


@stub(PERSON)
class User(Stub):
    @stub_connection_field(
        "This person's lab sessions, newest first: to themselves, to site admins, and to admins "
        "of organizations where they had labs (VIEW_ALL_LABS) for those organizations' labs."
    )
    async def lab_sessions(
        self, info: strawberry.Info, first: int = 20, after: str | None = None
    ) -> Connection[LabSession]:
        return await stub_connection(
            info, info.context.loaders.sessions_page_by_user_id, self.id, first, after, LabSession.from_model
        )


@stub("A coding exercise (the courses subgraph owns it).")
class Exercise(Stub):
    @strawberry.federation.field(
        authenticated=True,
        description="The template a lab of this exercise starts from (its preferred IDE), for members of its "
        "organization; null when none is available to the organization.",
    )
    async def lab_template(self, info: strawberry.Info) -> LabTemplate | None:
        loaders = info.context.loaders
        exercise = await load_reference(info, loaders.exercise_by_id, self.id)
        if exercise is None or exercise.deleted:
            return None
        template = await loaders.template_by_ide.load(exercise.ide)
        if template is None or not starting.template_allows(template, exercise.organization_id):
            return None
        if not await permitted(info.context.caller, Permission.VIEW_COURSES, exercise.organization_id):
            return None
        return LabTemplate.from_model(template)


# --- own types ----------------------------------------------------------------------------------------


@strawberry.type(description="Limits of a lab's environment.")
class LabResources:
    cpus: float
    memory_mb: int
    memory_bytes: float = strawberry.field(description="Float: beyond Int's 32 bits.")
    pids: int = strawberry.field(description="Process limit.")


@strawberry.type(description="What the environment uses now, as the runtime reports it.")
class LabUsage:
    cpu_percent: float = strawberry.field(description="Of one CPU: 150 = one and a half CPUs busy.")
    memory_bytes: float
    pids: int


@strawberry.federation.type(keys=["id"], description="How a lab of one IDE starts.")
class LabTemplate:
    id: strawberry.ID
    ide: LabIde
    name: str
    image: str
    port: int
    health_path: str
    default_resources: LabResources
    allowed_organizations: list[Organization] | None = strawberry.field(
        directives=[list_size(50)], description="Organizations that may use it; null: every organization."
    )

    @classmethod
    def from_model(cls, row: models.LabTemplate) -> LabTemplate:
        allowed = row.allowed_organization_ids
        return from_row(
            cls,
            row,
            ide=LabIde(row.ide),
            default_resources=LabResources(
                cpus=row.cpus,
                memory_mb=row.memory_mb,
                memory_bytes=row.memory_mb * 1024 * 1024,
                pids=row.pids,
            ),
            allowed_organizations=None
            if allowed is None
            else [Organization(id=strawberry.ID(o)) for o in allowed],
        )

    resolve_reference = owned_reference("template_by_id")


@shared_projection  # its followers share each event's result
@strawberry.type(description="One step of a lab session, in order. Replayed after `after`, then live.")
class LabEvent:
    seq: int
    at: datetime
    status: states.LabStatus
    progress: int = strawberry.field(description="0–100 while starting; 100 afterwards.")
    message: str

    @classmethod
    def from_message(cls, message: dict) -> LabEvent:
        data = message["data"]
        at = message["at"]
        return cls(
            seq=message["seq"],
            at=datetime.fromisoformat(at) if isinstance(at, str) else at,
            status=states.LabStatus(data["status"]),
            progress=data["progress"],
            message=data["message"],
        )


@strawberry.federation.type(
    keys=["id"], description="A student's lab: a development environment for an exercise."
)
class LabSession:
    id: strawberry.ID
    user: User
    exercise: Exercise
    course: Course
    organization: Organization
    ide: LabIde
    status: states.LabStatus
    failure_reason: str | None = strawberry.field(description="Why it FAILED.")
    resources: LabResources
    created_at: datetime
    started_at: datetime | None = strawberry.field(description="When it first ran.")
    last_activity_at: datetime | None = strawberry.field(description="Last heartbeat or proxied request.")
    paused_at: datetime | None
    stopped_at: datetime | None
    row: strawberry.Private[models.LabSession]

    @classmethod
    def from_model(cls, row: models.LabSession) -> LabSession:
        return from_row(
            cls,
            row,
            user=User(id=to_id(row.user_id)),
            exercise=Exercise(id=to_id(row.exercise_id)),
            course=Course(id=to_id(row.course_id)),
            organization=Organization(id=to_id(row.organization_id)),
            ide=LabIde(row.ide),
            status=states.LabStatus(row.status),
            resources=LabResources(
                cpus=row.cpus,
                memory_mb=row.memory_bytes // (1024 * 1024),
                memory_bytes=float(row.memory_bytes),
                pids=row.pids,
            ),
            row=row,
        )

    @strawberry.field(
        description="The IDE through the platform's authenticated proxy (owner only, while the lab is live). "
        "Open it with `?token=<access token>` once; the proxy sets a cookie scoped to this lab."
    )
    def access_url(self, info: strawberry.Info) -> str | None:
        if info.context.principal.subject != str(self.row.user_id) or self.row.status not in states.LIVE:
            return None
        return f"{info.context.settings.labs.public_url.rstrip('/')}/labs/{self.row.id}/"

    @strawberry.field(description="When it pauses unless there is activity (RUNNING only).")
    async def idle_deadline(self, info: strawberry.Info) -> datetime | None:
        org = await info.context.loaders.org_settings_by_id.load(self.row.organization_id)
        return states.idle_deadline(self.row, org)

    @strawberry.field(
        description="When it stops (PAUSED: paused + the stop timeout; RUNNING: if it goes idle)."
    )
    async def stop_deadline(self, info: strawberry.Info) -> datetime | None:
        org = await info.context.loaders.org_settings_by_id.load(self.row.organization_id)
        return states.stop_deadline(self.row, org)

    @strawberry.field(description="CPU and memory now (RUNNING only; null when the runtime cannot tell).")
    async def usage(self, info: strawberry.Info) -> LabUsage | None:
        if self.row.status != states.LabStatus.RUNNING:
            return None
        labs = await lab_runtime(info.context.runtime)
        try:
            stats = await asyncio.wait_for(labs.stats(self.row.id), 5)
        except Exception:
            log.warning("no usage for lab %s", self.row.id, exc_info=True)
            return None
        if stats is None:
            return None
        return LabUsage(
            cpu_percent=stats.cpu_percent, memory_bytes=float(stats.memory_bytes), pids=stats.pids
        )

    @connection_field("Its transitions and progress steps, oldest first.")
    async def events(
        self, info: strawberry.Info, first: int = 50, after: str | None = None
    ) -> Connection[LabEvent]:
        return await page_connection(
            info.context.loaders.events_page_by_session_id,
            self.row.id,
            first,
            after,
            lambda r: LabEvent.from_message(r.as_message()),
        )

    # The owner, admins of its organization (VIEW_ALL_LABS) and site admins; null otherwise.
    resolve_reference = owned_reference("session_by_id", for_caller(access.can_view))


async def lab_runtime(runtime: Runtime) -> LabRuntime:
    """The lab runtime, built once per process."""
    extras = runtime.extras
    if "labs" not in extras:
        from subgraphs.labs.lifecycle import make_runtime

        extras["labs"] = await make_runtime(runtime.settings)
    return extras["labs"]


@strawberry.type(description="How full the organization's labs are.")
class LabCapacity:
    organization_id: strawberry.ID
    running: int = strawberry.field(description="Its labs starting or running (paused ones hold no CPU).")
    limit: int = strawberry.field(description="The organization's running-lab limit.")
    starting: int = strawberry.field(description="Labs starting now, platform-wide.")
    max_concurrent_starts: int


# --- inputs and results -------------------------------------------------------------------------------


@strawberry.input
class StartLabInput:
    exercise_id: strawberry.ID
    ide: LabIde | None = strawberry.field(
        default=None,
        description="Default: the exercise's preferred IDE or, where that cannot run, JupyterLab (else the "
        "terminal).",
    )


@strawberry.input
class LabSessionIdInput:
    session_id: strawberry.ID


@strawberry.input
class LabSessionFilter:
    organization_id: strawberry.ID | None = None
    user_id: strawberry.ID | None = None
    exercise_id: strawberry.ID | None = None
    course_id: strawberry.ID | None = None
    status: list[states.LabStatus] | None = None


@strawberry.input
class StopLabsInput:
    organization_id: strawberry.ID
    user_id: strawberry.ID | None = None
    exercise_id: strawberry.ID | None = None
    course_id: strawberry.ID | None = None
    status: list[states.LabStatus] | None = None


@strawberry.type
class LabSessionSuccess:
    session: LabSession


@strawberry.type
class StopLabsSuccess:
    count: int
    sessions: list[LabSession] = strawberry.field(directives=[list_size(100)])


StartLabResult = Annotated[
    LabSessionSuccess
    | ValidationError
    | NotFoundError
    | ForbiddenError
    | ConflictError
    | NotEnrolledError
    | TemplateNotAllowedError
    | LabCapacityExceededError
    | LabLimitReachedError
    | RateLimitedError,
    strawberry.union("StartLabResult"),
]
LabSessionResult = Annotated[
    LabSessionSuccess | ValidationError | NotFoundError | ForbiddenError | InvalidTransitionError,
    strawberry.union("LabSessionResult"),
]
StopLabsResult = Annotated[
    StopLabsSuccess | ValidationError | ForbiddenError, strawberry.union("StopLabsResult")
]
