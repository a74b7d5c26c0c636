"""Query, Mutation and Subscription of the analytics subgraph. Resolvers stay thin: parse, call the service.

Router side: `@authenticated` and `@policy` (core.rbac.member_or_scope_policy) so API clients need the
scope; the subgraph always decides with core.rbac (service.can_view_course / can_view_organization).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import date

import strawberry
from sqlalchemy import func, select

from subgraphs.analytics import service
from subgraphs.analytics.ingest import alerts_channel
from subgraphs.analytics.models import RiskAlert as AlertRow
from subgraphs.analytics.types import (
    Course,
    CourseReport,
    CourseStats,
    CourseStatsLine,
    Enrollment,
    OrganizationReport,
    RiskAlert,
    StudentReport,
    StudentSummary,
    TrackActivityInput,
    TrackActivityResult,
    TrackActivitySuccess,
    User,
    csv_url,
    points,
)
from subgraphs.core.context import RequestMeta
from subgraphs.core.ids import parse_id, to_id
from subgraphs.core.live import follow, stored_after
from subgraphs.core.rbac import member_or_scope_policy
from subgraphs.core.resolvers import (
    authenticated_field,
    authenticated_mutation,
    authenticated_subscription,
    call_service,
)
from subgraphs.core.schema import build_schema

VIEW = member_or_scope_policy(service.VIEW)
VIEW_ALL = member_or_scope_policy(service.VIEW_ALL)


def _range_query(since: date | None, until: date | None) -> dict:
    return {"since": since.isoformat() if since else None, "until": until.isoformat() if until else None}


@strawberry.type
class Query:
    @authenticated_field(
        policy=VIEW,
        description="One student's report in one course: the student, the course's instructor, the "
        "organization's admins. Null until the first event of that enrollment is ingested.",
    )
    async def student_report(
        self, info: strawberry.Info, user_id: strawberry.ID, course_id: strawberry.ID
    ) -> StudentReport | None:
        user, course = parse_id(user_id, "userId"), parse_id(course_id, "courseId")
        report = await call_service(info, service.student_report, user, course)
        if report is None:
            return None
        return StudentReport(
            user=User(id=to_id(user)),
            course=Course(id=to_id(course)),
            summary=StudentSummary.from_metrics(report.metrics),
            last_login_at=report.last_login_at,
            active_days=report.active_days,
            csv_url=csv_url(info, f"/reports/student/{course}/{user}.csv"),
        )

    @authenticated_field(
        policy=VIEW_ALL,
        description="A course between `since` and `until` (UTC days, default: the last 30): stats, daily "
        "series (active students, submissions, lab hours, lesson completions) and every student.",
    )
    async def course_report(
        self,
        info: strawberry.Info,
        course_id: strawberry.ID,
        since: date | None = None,
        until: date | None = None,
    ) -> CourseReport:
        course = parse_id(course_id, "courseId")
        r = await call_service(info, service.course_report, course, since, until)
        students = [StudentSummary.from_metrics(m) for m in r.students]
        return CourseReport(
            course=Course(id=to_id(course)),
            title=r.course.title,
            since=r.range.since,
            until=r.range.until,
            stats=CourseStats.from_stats(r.stats, r.active_today),
            series=points(r.series),
            at_risk_students=[s for s in students if s.engagement.risk_level.value == "HIGH"],
            students=students,
            csv_url=csv_url(info, f"/reports/course/{course}.csv", **_range_query(since, until)),
            daily_csv_url=csv_url(info, f"/reports/course/{course}/daily.csv", **_range_query(since, until)),
        )

    @authenticated_field(
        policy=VIEW_ALL, description="Every course of an organization between `since` and `until` (admins)."
    )
    async def organization_report(
        self,
        info: strawberry.Info,
        organization_id: strawberry.ID,
        since: date | None = None,
        until: date | None = None,
    ) -> OrganizationReport:
        org = parse_id(organization_id, "organizationId")
        r = await call_service(info, service.organization_report, org, since, until)
        today = await service.active_today(info.context.runtime, [c.course_id for c, _ in r.courses])
        lines = [
            CourseStatsLine(
                course=Course(id=to_id(c.course_id)),
                title=c.title,
                stats=CourseStats.from_stats(s, today[c.course_id]),
            )
            for c, s in r.courses
        ]
        return OrganizationReport(
            organization_id=to_id(org),
            since=r.range.since,
            until=r.range.until,
            enrollments=sum(s["enrollments"] for _, s in r.courses),
            active_students=sum(s["active_students"] for _, s in r.courses),
            at_risk_count=sum(s["at_risk_count"] for _, s in r.courses),
            lab_hours=round(sum(s["lab_hours"] for _, s in r.courses), 2),
            generation_jobs=r.generation_jobs,
            courses=lines,
            series=points(r.series),
            csv_url=csv_url(info, f"/reports/organization/{org}.csv", **_range_query(since, until)),
        )


@strawberry.type
class Mutation:
    @authenticated_mutation(
        policy=VIEW,
        description="Record a client-side event (page view, download, IDE switch, ...) in a course you "
        "are enrolled in or teach. Rate-limited per user.",
    )
    async def track_activity(self, info: strawberry.Info, input: TrackActivityInput) -> TrackActivityResult:
        event_id = await call_service(
            info,
            service.track_activity,
            type=getattr(input.type, "value", input.type),
            course_id=parse_id(input.course_id, "input.courseId"),
            payload=input.payload,
        )
        return TrackActivitySuccess(event_id=to_id(event_id))


@strawberry.type
class Subscription:
    @authenticated_subscription(
        description="Alerts when a student's risk level rises to HIGH in the course (its instructor and "
        "the organization's admins). Without `after`, only new alerts; with `after` (the last `seq` you "
        "saw) stored alerts after it are replayed first.",
    )
    async def risk_alerts(
        self, info: strawberry.Info, course_id: strawberry.ID, after: int | None = None
    ) -> AsyncGenerator[RiskAlert, None]:
        runtime = info.context.runtime
        course = await call_service(info, service.course_for_viewer, parse_id(course_id, "courseId"))
        stream: uuid.UUID = course.course_id

        read_after = stored_after(runtime, AlertRow, stream)

        if after is None:
            async with runtime.transaction() as session:
                after = await session.scalar(
                    select(func.coalesce(func.max(AlertRow.seq), 0)).where(AlertRow.stream_id == stream)
                )

        async def still_allowed(meta: RequestMeta) -> bool:
            return await service.can_view_course(meta.caller, course)

        guard = info.context.stream_guard(still_allowed, shared_by=alerts_channel(stream))
        async for message in follow(
            runtime.live, alerts_channel(stream), after=after, read_after=read_after, guard=guard
        ):
            yield RiskAlert.from_message(message)


schema = build_schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[User, Course, Enrollment],
)
