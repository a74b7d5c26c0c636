"""Query, Mutation and Subscription of the labs subgraph. Resolvers stay thin: parse, call the service.

Router side: `@authenticated` everywhere, `@policy` (core.rbac.member_or_scope_policy) on organization
fields; the subgraph always re-checks with core.rbac.authorize (students start labs through enrollment,
which only the subgraph's projection knows).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable

import strawberry

from subgraphs.contracts.vocabulary import LabIde
from subgraphs.core.ids import parse_id, parse_optional_id
from subgraphs.core.live import JobEvents
from subgraphs.core.pagination import Connection, PageRequest, list_size
from subgraphs.core.rbac import USER_POLICY, Permission, member_or_scope_policy
from subgraphs.core.resolvers import (
    authenticated_field,
    authenticated_mutation,
    authenticated_subscription,
    call_service,
    paged_field,
)
from subgraphs.core.schema import build_schema
from subgraphs.labs import access, actions, queries, starting, states, transitions
from subgraphs.labs.errors import LAB_ERRORS
from subgraphs.labs.models import LabEvent as EventRow
from subgraphs.labs.models import LabSession as SessionRow
from subgraphs.labs.types import (
    Course,
    Exercise,
    LabCapacity,
    LabEvent,
    LabSession,
    LabSessionFilter,
    LabSessionIdInput,
    LabSessionResult,
    LabSessionSuccess,
    LabTemplate,
    Organization,
    StartLabInput,
    StartLabResult,
    StopLabsInput,
    StopLabsResult,
    StopLabsSuccess,
    User,
)

SESSION_EVENTS = JobEvents(
    model=EventRow,
    channel=transitions.channel,
    terminal=states.TERMINAL,
    visible=access.visible_session,
    can_view=access.can_view,
    kept=access.owner_of,
)


def _session_filter(given: LabSessionFilter | StopLabsInput, path: str) -> queries.SessionFilter:
    """The service's filter of lab sessions from a query's `filter` or stopLabs' `input` (named by `path`
    in errors); stopLabs' organizationId is required by its input type."""
    return queries.SessionFilter(
        organization_id=parse_optional_id(given.organization_id, f"{path}.organizationId"),
        user_id=parse_optional_id(given.user_id, f"{path}.userId"),
        exercise_id=parse_optional_id(given.exercise_id, f"{path}.exerciseId"),
        course_id=parse_optional_id(given.course_id, f"{path}.courseId"),
        statuses=tuple(states.LabStatus(v) for v in given.status or ()),
    )


@strawberry.type
class Query:
    @authenticated_field(
        description="One lab session: yours, or any of an organization whose labs you may view "
        "(VIEW_ALL_LABS).",
    )
    async def lab_session(self, info: strawberry.Info, id: strawberry.ID) -> LabSession | None:
        row = await call_service(info, access.get_session, parse_id(id, "id"))
        return LabSession.from_model(row) if row else None

    @paged_field(
        description="Lab sessions you may see (your own; your organizations' with VIEW_ALL_LABS), "
        "newest first.",
    )
    async def lab_sessions(
        self,
        info: strawberry.Info,
        filter: LabSessionFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[LabSession]:
        return await call_service(
            info,
            queries.list_sessions,
            _session_filter(filter or LabSessionFilter(), "filter"),
            page=PageRequest(first, after, LabSession.from_model),
        )

    @authenticated_field(
        policy=member_or_scope_policy(Permission.VIEW_COURSES),
        description="Running labs of an organization against its limit (members).",
    )
    async def lab_capacity(self, info: strawberry.Info, organization_id: strawberry.ID) -> LabCapacity:
        c = await call_service(info, queries.capacity, parse_id(organization_id, "organizationId"))
        return LabCapacity(
            organization_id=strawberry.ID(str(c.organization_id)),
            running=c.running,
            limit=c.limit,
            starting=c.starting,
            max_concurrent_starts=c.max_concurrent_starts,
        )

    @authenticated_field(
        directives=[list_size(10)],
        description="The lab templates (one per IDE) whose labs can start on this platform now: an IDE "
        "whose program or image is not installed here is not offered.",
    )
    async def lab_templates(self, info: strawberry.Info) -> list[LabTemplate]:
        rows = await starting.offered_templates(info.context.runtime)
        return [LabTemplate.from_model(r) for r in rows]


async def _change_session(
    info: strawberry.Info, action: Callable[..., Awaitable[SessionRow]], input: LabSessionIdInput
) -> LabSessionSuccess:
    """The mutations of one lab session: `action(runtime, meta, session_id)` for this request's caller."""
    row = await call_service(info, action, parse_id(input.session_id, "input.sessionId"))
    return LabSessionSuccess(session=LabSession.from_model(row))


@strawberry.type
class Mutation:
    @authenticated_mutation(
        policy=USER_POLICY,
        description="Start a lab for an exercise (students: enrolled in its course; instructors and admins: "
        "any exercise of their organization). Returns the REQUESTED session — or your live session of this "
        "exercise if there is one. Follow it with labSessionEvents.",
    )
    async def start_lab(self, info: strawberry.Info, input: StartLabInput) -> StartLabResult:
        row = await call_service(
            info,
            starting.start,
            exercise_id=parse_id(input.exercise_id, "input.exerciseId"),
            ide=LabIde(input.ide) if input.ide else None,
        )
        return LabSessionSuccess(session=LabSession.from_model(row))

    @authenticated_mutation(policy=USER_POLICY, description="Pause your running lab (the worker freezes it).")
    async def pause_lab(self, info: strawberry.Info, input: LabSessionIdInput) -> LabSessionResult:
        return await _change_session(info, actions.pause, input)

    @authenticated_mutation(policy=USER_POLICY, description="Resume your paused lab.")
    async def resume_lab(self, info: strawberry.Info, input: LabSessionIdInput) -> LabSessionResult:
        return await _change_session(info, actions.resume, input)

    @authenticated_mutation(
        description="Stop a lab (yours, or any in an organization where you manage labs). Its workspace is "
        "kept: a new lab of the same exercise finds your files.",
    )
    async def stop_lab(self, info: strawberry.Info, input: LabSessionIdInput) -> LabSessionResult:
        return await _change_session(info, actions.stop, input)

    @authenticated_mutation(
        policy=USER_POLICY,
        description="Activity from the IDE page: keeps your running lab from pausing as idle.",
    )
    async def heartbeat_lab(self, info: strawberry.Info, input: LabSessionIdInput) -> LabSessionResult:
        return await _change_session(info, actions.heartbeat, input)

    @authenticated_mutation(
        policy=member_or_scope_policy(Permission.MANAGE_LABS),
        description="Admin: stop every live lab of an organization matching the filter (MANAGE_LABS).",
    )
    async def stop_labs(self, info: strawberry.Info, input: StopLabsInput) -> StopLabsResult:
        rows = await call_service(info, actions.stop_many, _session_filter(input, "input"))
        return StopLabsSuccess(count=len(rows), sessions=[LabSession.from_model(r) for r in rows])


@strawberry.type
class Subscription:
    @authenticated_subscription(
        description="A lab's transitions and progress: events after `after` (the last `seq` you saw) are "
        "replayed, then followed live until the lab is STOPPED or FAILED. Reconnecting with `after` misses "
        "nothing and repeats nothing. The owner, admins of its organization and site admins.",
    )
    async def lab_session_events(
        self, info: strawberry.Info, session_id: strawberry.ID, after: int | None = None
    ) -> AsyncGenerator[LabEvent, None]:
        async for message in SESSION_EVENTS.follow(
            info.context, parse_id(session_id, "sessionId"), after=after
        ):
            yield LabEvent.from_message(message)


schema = build_schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[User, Organization, Course, Exercise, LabSession, LabTemplate],
    errors=LAB_ERRORS,
)
