"""The analytics subgraph: reports, engagement and stats at /graphql; CSV downloads at /reports.

The CSV routes are plain GETs a browser can follow (`csvUrl`): they take the same Bearer token as the
graph (`Authorization` header) and apply the same permission checks and API rate limit as the GraphQL
queries. They are the only paths open without the router's secret in production.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from subgraphs.analytics import service
from subgraphs.analytics.loaders import build_loaders
from subgraphs.analytics.metrics import RECOMMENDATIONS, RiskLevel
from subgraphs.analytics.schema import schema
from subgraphs.core.app import authenticate, client_ip, subgraph_app_factory
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    RateLimited,
)
from subgraphs.core.rbac import Caller

REPORTS = "/reports/"
STUDENT_COLUMNS = [
    "user_id",
    "enrollment_id",
    "status",
    "progress_percent",
    "lessons_completed",
    "quiz_attempts",
    "quizzes_passed",
    "average_quiz_score",
    "lab_hours",
    "engagement_score",
    "proficiency_score",
    "risk_level",
    "contributing_indicators",
    "last_activity_at",
]
SERIES_COLUMNS = ["day", "active_students", "submissions", "lab_hours", "lesson_completions"]
STATS_COLUMNS = [
    "enrollments",
    "active_students",
    "completion_rate",
    "average_quiz_score",
    "average_progress",
    "lab_hours",
    "at_risk_count",
]


# A text cell starting with one of these is run as a formula by spreadsheets (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value  # shown as text, never evaluated
    return value


def _csv(header: list[str], rows: Iterable[list[Any]], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


def _student_row(m: dict[str, Any]) -> list[Any]:
    contributing = ";".join(i["name"] for i in m["indicators"] if i["contributes"])
    return [m[c] if c != "contributing_indicators" else contributing for c in STUDENT_COLUMNS]


def _uuid(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise InvalidInput({field: "Not a valid id."}) from exc


def _day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput({field: "Give a date as YYYY-MM-DD."}) from exc


async def _meta(request: Request) -> tuple[Runtime, RequestMeta]:
    runtime: Runtime = request.app.state.runtime
    principal = await authenticate(runtime, request.headers.get("authorization"))
    if not principal.is_authenticated:
        raise NotAuthenticated()
    limits = runtime.settings.rate_limits
    await runtime.rate_limiter.hit(
        f"api:{principal.subject}",
        limit=limits.api_per_principal,
        window_seconds=limits.api_per_principal_window_seconds,
    )
    peer = request.client.host if request.client else None
    return runtime, RequestMeta(
        Caller.of(principal, runtime.redis),
        request_id=request.headers.get("x-request-id"),
        client_ip=client_ip(peer, request.headers.get("x-forwarded-for"), runtime.settings.trusted_proxies),
    )


def _status(error: DomainError) -> int:
    if isinstance(error, NotAuthenticated):
        return 401
    if isinstance(error, Forbidden):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, RateLimited):
        return 429
    return 400


async def _course_report(
    request: Request, course_id: str, since: str | None, until: str | None
) -> service.CourseReport:
    """The course report both course CSVs are made of (students, daily series)."""
    runtime, meta = await _meta(request)
    return await service.course_report(
        runtime, meta, _uuid(course_id, "courseId"), _day(since, "since"), _day(until, "until")
    )


def add_report_routes(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after_seconds)} if isinstance(exc, RateLimited) else None
        return JSONResponse(
            {"error": exc.extensions | {"message": exc.message}}, _status(exc), headers=headers
        )

    @app.get("/reports/course/{course_id}.csv")
    async def course_csv(
        request: Request, course_id: str, since: str | None = None, until: str | None = None
    ) -> Response:
        r = await _course_report(request, course_id, since, until)
        return _csv(STUDENT_COLUMNS, (_student_row(m) for m in r.students), f"course-{course_id}.csv")

    @app.get("/reports/course/{course_id}/daily.csv")
    async def course_daily_csv(
        request: Request, course_id: str, since: str | None = None, until: str | None = None
    ) -> Response:
        r = await _course_report(request, course_id, since, until)
        rows = ([p[c] for c in SERIES_COLUMNS] for p in r.series)
        return _csv(SERIES_COLUMNS, rows, f"course-{course_id}-daily.csv")

    @app.get("/reports/student/{course_id}/{user_id}.csv")
    async def student_csv(request: Request, course_id: str, user_id: str) -> Response:
        runtime, meta = await _meta(request)
        report = await service.student_report(
            runtime, meta, _uuid(user_id, "userId"), _uuid(course_id, "courseId")
        )
        if report is None:
            raise NotFound("No activity of this student in this course yet.")
        m = report.metrics
        rows = [_student_row(m)]
        header = [*STUDENT_COLUMNS, "recommendations"]
        rows[0].append(" | ".join(RECOMMENDATIONS[RiskLevel(m["risk_level"])]))
        return _csv(header, rows, f"student-{user_id}-course-{course_id}.csv")

    @app.get("/reports/organization/{organization_id}.csv")
    async def organization_csv(
        request: Request, organization_id: str, since: str | None = None, until: str | None = None
    ) -> Response:
        runtime, meta = await _meta(request)
        r = await service.organization_report(
            runtime,
            meta,
            _uuid(organization_id, "organizationId"),
            _day(since, "since"),
            _day(until, "until"),
        )
        rows = ([str(c.course_id), c.title, *(s[k] for k in STATS_COLUMNS)] for c, s in r.courses)
        return _csv(["course_id", "title", *STATS_COLUMNS], rows, f"organization-{organization_id}.csv")


create_app = subgraph_app_factory(
    "analytics", schema, build_loaders=build_loaders, open_paths=(REPORTS,), add_routes=add_report_routes
)
app = create_app()
