"""Who sees what (students their own, instructors their courses, admins their organization), caches that
are used yet never stale, trackActivity's validation, permission and rate limit, CSV downloads, and N+1
guards on Enrollment.engagement and Course.stats (same statements for 5 and 50)."""

from __future__ import annotations

import csv as csv_module
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from subgraphs.analytics import caching
from subgraphs.analytics.ingest import Partitions, ingest
from subgraphs.analytics.models import Learner
from subgraphs.core.live import LiveHub
from tests.subgraphs.analytics.events import Student
from tests.subgraphs.analytics.queries import COURSE_REPORT, ENTITIES, ORG_REPORT, STUDENT_REPORT, TRACK, reps
from tests.subgraphs.courses.factories import School


async def apply(runtime, *events) -> None:
    await ingest(runtime.sessionmaker, runtime.redis, LiveHub(runtime.redis), Partitions(), list(events))


@dataclass
class Room:
    school: School
    s: Student
    other_instructor: Any
    other_admin: Any
    site_admin: Any
    client: Any
    client_without_scope: Any


@pytest.fixture
async def room(courses, analytics_runtime) -> Room:
    """A school whose instructor teaches a course with one enrolled student (fed as events)."""
    school = await courses.school()
    s = Student(organization_id=school.org, user_id=school.student.id, instructor_id=school.instructor.id)
    await apply(analytics_runtime, s.course(), s.enrollment("created"), s.lesson(50))
    other = await courses.school()
    minter = courses.minter
    return Room(
        school=school,
        s=s,
        other_instructor=await minter.member(school.org, "instructor"),
        other_admin=other.admin,
        site_admin=await minter.user("site_admin"),
        client=await minter.client(school.org, ["view_all_analytics"]),
        client_without_scope=await minter.client(school.org, ["view_courses"]),
    )


def callers(room: Room) -> dict[str, str | None]:
    return {
        "anonymous": None,
        "student": room.school.student.token,
        "course_instructor": room.school.instructor.token,
        "other_instructor_same_org": room.other_instructor.token,
        "org_admin": room.school.admin.token,
        "other_org_admin": room.other_admin.token,
        "site_admin": room.site_admin.token,
        "client_with_scope": room.client.token,
        "client_without_scope": room.client_without_scope.token,
    }


COURSE_VIEWERS = {"course_instructor", "org_admin", "site_admin", "client_with_scope"}


async def test_course_analytics_matrix(analytics_gql, room):
    course, user = room.s.course_id, room.s.user_id
    for name, token in callers(room).items():
        stats = (await analytics_gql(ENTITIES, reps("Course", course), token=token))["data"]
        seen = stats is not None and stats["_entities"][0] is not None and stats["_entities"][0]["stats"]
        assert bool(seen) == (name in COURSE_VIEWERS), name
        engagement = (await analytics_gql(ENTITIES, reps("Enrollment", room.s.enrollment_id), token=token))[
            "data"
        ]
        seen = (
            engagement is not None and engagement["_entities"][0] and engagement["_entities"][0]["engagement"]
        )
        assert bool(seen) == (name in COURSE_VIEWERS | {"student"}), name
        report = await analytics_gql(COURSE_REPORT, {"c": course}, token=token)
        if name in COURSE_VIEWERS:
            assert "errors" not in report, (name, report)
            assert report["data"]["courseReport"]["stats"]["enrollments"] == 1
        else:
            assert report["errors"][0]["extensions"]["code"] in ("FORBIDDEN", "UNAUTHENTICATED"), name
        student = await analytics_gql(STUDENT_REPORT, {"u": user, "c": course}, token=token)
        if name in COURSE_VIEWERS | {"student"}:
            assert student["data"]["studentReport"]["summary"]["progressPercent"] == 50, (name, student)
        else:
            assert student["errors"][0]["extensions"]["code"] in ("FORBIDDEN", "UNAUTHENTICATED"), name
        org = await analytics_gql(ORG_REPORT, {"o": room.school.org}, token=token)
        if name in {"org_admin", "site_admin", "client_with_scope"}:
            assert org["data"]["organizationReport"]["enrollments"] == 1, (name, org)
        else:
            assert org["errors"][0]["extensions"]["code"] in ("FORBIDDEN", "UNAUTHENTICATED"), name


async def test_an_unknown_course_answers_like_a_refused_one(analytics_gql, room):
    token = room.other_admin.token
    unknown = await analytics_gql(COURSE_REPORT, {"c": str(uuid.uuid4())}, token=token)
    refused = await analytics_gql(COURSE_REPORT, {"c": room.s.course_id}, token=token)
    assert unknown["errors"][0]["message"] == refused["errors"][0]["message"]
    assert (
        unknown["errors"][0]["extensions"]["code"]
        == refused["errors"][0]["extensions"]["code"]
        == "FORBIDDEN"
    )


async def test_caches_are_used_and_dropped_by_the_next_event(analytics_gql, analytics_runtime, room):
    redis, course, user = analytics_runtime.redis, uuid.UUID(room.s.course_id), uuid.UUID(room.s.user_id)
    token = room.school.instructor.token
    first = (await analytics_gql(ENTITIES, reps("Course", course), token=token))["data"]["_entities"][0][
        "stats"
    ]
    gen = int(await redis.get(caching.course_gen_key(course)) or 0)
    key = caching.course_stats_key(course, gen)
    assert await redis.exists(key)
    ttl = await redis.ttl(key)
    assert 3500 < ttl <= 3600  # the original design's hour
    again = (await analytics_gql(ENTITIES, reps("Course", course), token=token))["data"]["_entities"][0][
        "stats"
    ]
    assert again["computedAt"] == first["computedAt"]  # served from the cache
    await analytics_gql(ENTITIES, reps("Enrollment", room.s.enrollment_id), token=token)
    learner_gen = int(await redis.get(caching.learner_gen_key(course, user)) or 0)
    assert 200 < await redis.ttl(caching.engagement_key(course, user, learner_gen)) <= 300

    await apply(analytics_runtime, room.s.lesson(100))  # the student acts
    fresh = (await analytics_gql(ENTITIES, reps("Course", course), token=token))["data"]["_entities"][0][
        "stats"
    ]
    assert (first["averageProgress"], fresh["averageProgress"]) == (50.0, 100.0)
    engagement = (await analytics_gql(ENTITIES, reps("Enrollment", room.s.enrollment_id), token=token))[
        "data"
    ]
    # 42.857 (just active) + 0.25 * 100
    assert engagement["_entities"][0]["engagement"]["engagementScore"] == 67.9


async def test_track_activity_is_validated_permitted_and_rate_limited(
    analytics_gql, analytics_runtime, room, pipeline
):
    student = room.school.student.token
    course = room.s.course_id

    async def track(token, **input_):
        body = await analytics_gql(
            TRACK, {"input": {"type": "PAGE_VIEW", "courseId": course, **input_}}, token=token
        )
        assert "errors" not in body, body
        return body["data"]["trackActivity"]

    bad = await track(student, payload={"blob": "x" * 3000})
    assert bad["__typename"] == "ValidationError" and bad["fieldErrors"][0]["field"] == "input.payload"
    bad = await track(student, payload=[1, 2])
    assert bad["__typename"] == "ValidationError"
    bad = await track(student, courseId="nope")
    assert bad["fieldErrors"] == [{"field": "input.courseId", "message": "Not a valid id."}]
    wrong_enum = await analytics_gql(TRACK, {"input": {"type": "HACK", "courseId": course}}, token=student)
    assert wrong_enum["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    outsider = await track(room.other_admin.token)
    assert outsider["__typename"] == "ForbiddenError"

    ok = await track(student, type="IDE_SWITCH", payload={"from": "VSCODE", "to": "JUPYTER"})
    assert ok["__typename"] == "TrackActivitySuccess"

    limits = analytics_runtime.settings.rate_limits
    saved = limits.track_activity_per_user
    limits.track_activity_per_user = 2
    try:
        await analytics_runtime.rate_limiter.reset(f"track-activity:{room.s.user_id}")
        assert (await track(student))["__typename"] == "TrackActivitySuccess"
        assert (await track(student))["__typename"] == "TrackActivitySuccess"
        limited = await track(student)
        assert limited["__typename"] == "RateLimitedError" and limited["retryAfterSeconds"] >= 1
    finally:
        limits.track_activity_per_user = saved

    # One path: the tracked events arrive through the outbox and the consumer (enrollment + lesson + 3).
    async def tracked(session):
        row = await session.get(Learner, (uuid.UUID(course), uuid.UUID(room.s.user_id)))
        return row if row.events == 5 else None

    await pipeline.until(tracked)


def auth_of(room) -> dict[str, str]:
    return {"Authorization": f"Bearer {room.school.instructor.token}"}


async def test_csv_reports_check_the_token_and_the_permission(analytics_http, room):
    path = f"/reports/course/{room.s.course_id}.csv"
    assert (await analytics_http.get(path)).status_code == 401
    bad = await analytics_http.get(path, headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    refused = await analytics_http.get(path, headers={"Authorization": f"Bearer {room.other_admin.token}"})
    assert refused.status_code == 403
    unknown = await analytics_http.get(
        f"/reports/course/{uuid.uuid4()}.csv", headers={"Authorization": f"Bearer {room.other_admin.token}"}
    )
    assert (unknown.status_code, unknown.json()) == (403, refused.json()), "existence never leaks"
    assert (await analytics_http.get("/reports/course/x.csv", headers=auth_of(room))).json()["error"][
        "fieldErrors"
    ] == {"courseId": "Not a valid id."}
    ok = await analytics_http.get(path, headers={"Authorization": f"Bearer {room.school.instructor.token}"})
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/csv")
    lines = ok.text.strip().splitlines()
    assert lines[0].startswith("user_id,enrollment_id,status,progress_percent")
    assert lines[1].startswith(f"{room.s.user_id},{room.s.enrollment_id},ACTIVE,50,")
    daily = await analytics_http.get(
        f"/reports/course/{room.s.course_id}/daily.csv?since=2026-01-01&until=2026-01-03",
        headers={"Authorization": f"Bearer {room.school.admin.token}"},
    )
    assert daily.text.splitlines() == [
        "day,active_students,submissions,lab_hours,lesson_completions",
        "2026-01-01,0,0,0.0,0",
        "2026-01-02,0,0,0.0,0",
        "2026-01-03,0,0,0.0,0",
    ]
    mine = await analytics_http.get(
        f"/reports/student/{room.s.course_id}/{room.s.user_id}.csv",
        headers={"Authorization": f"Bearer {room.school.student.token}"},
    )
    assert mine.status_code == 200 and "recommendations" in mine.text.splitlines()[0]
    backwards = await analytics_http.get(
        f"{path}?since=2026-02-01&until=2026-01-01",
        headers={"Authorization": f"Bearer {room.school.instructor.token}"},
    )
    assert backwards.status_code == 400 and backwards.json()["error"]["fieldErrors"] == {
        "since": "Must not be after `until`."
    }
    for query, field in (("until=2026-13-01", "until"), ("since=2020-01-01&until=2026-01-01", "since")):
        bad_range = await analytics_http.get(f"{path}?{query}", headers=auth_of(room))
        assert bad_range.status_code == 400 and list(bad_range.json()["error"]["fieldErrors"]) == [field]


async def statements(counting, call) -> int:
    with counting() as counter:
        await call()
    return counter.count


@pytest.mark.parametrize("typename", ["Enrollment", "Course"])
async def test_no_n_plus_one(analytics_gql, analytics_runtime, analytics_count_queries, courses, typename):
    site_admin = await courses.minter.user("site_admin")
    org = str(uuid.uuid4())

    async def make(n: int) -> list[str]:
        if typename == "Enrollment":
            course = Student(organization_id=org)
            students = [Student(course_id=course.course_id, organization_id=org) for _ in range(n)]
            await apply(analytics_runtime, course.course(), *(s.enrollment("created") for s in students))
            return [s.enrollment_id for s in students]
        students = [Student(organization_id=org) for _ in range(n)]
        await apply(analytics_runtime, *(e for s in students for e in (s.course(), s.enrollment("created"))))
        return [s.course_id for s in students]

    field = "engagement" if typename == "Enrollment" else "stats"
    counts = []
    for n in (5, 50):
        ids = await make(n)

        async def query(ids=ids, n=n):
            body = await analytics_gql(ENTITIES, reps(typename, *ids), token=site_admin.token)
            assert "errors" not in body, body
            assert sum(e[field] is not None for e in body["data"]["_entities"]) == n

        counts.append(await statements(analytics_count_queries, query))  # cold caches
    assert counts[0] == counts[1], counts


async def test_in_production_only_the_report_routes_skip_the_router_secret():
    """RouterOnly with the analytics app's open paths: /reports/ is reachable directly (it checks the token
    itself), /graphql still needs the router's secret."""
    import httpx
    from fastapi import FastAPI

    from subgraphs.analytics.app import REPORTS
    from subgraphs.core.app import ROUTER_SECRET_HEADER, RouterOnly

    inner = FastAPI()

    @inner.get("/reports/x.csv")
    async def report() -> dict:
        return {"ok": True}

    @inner.post("/graphql")
    async def graphql() -> dict:
        return {"ok": True}

    secret = "s" * 40
    app = RouterOnly(inner, secret, open_paths=(REPORTS,))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as client:
        assert (await client.get("/reports/x.csv")).status_code == 200
        assert (await client.post("/graphql")).status_code == 403
        # Open prefixes match whole path segments, not string prefixes.
        for path in ("/reports-evil/x.csv", "/reportsX", "/healthz", "/health-evil", "/metricsX"):
            assert (await client.get(path)).status_code == 403, path
        assert (await client.get("/health")).status_code != 403
        assert (await client.post("/graphql", headers={ROUTER_SECRET_HEADER: secret})).status_code == 200


async def test_organization_report_sums_its_courses(
    analytics_gql, analytics_http, analytics_runtime, courses
):
    from subgraphs.core.events import Event

    school = await courses.school()
    a = Student(organization_id=school.org, instructor_id=school.instructor.id)
    b = Student(organization_id=school.org, instructor_id=school.instructor.id)
    b2 = Student(course_id=b.course_id, organization_id=school.org, instructor_id=school.instructor.id)
    job = Event(
        type="generator.job.requested",
        organization_id=school.org,
        subject_ids={"job_id": str(uuid.uuid4()), "course_id": a.course_id},
        payload={"kind": "SYLLABUS", "status": "QUEUED"},
    )
    login = Event(type="users.auth.login_succeeded", subject_ids={"user_id": a.user_id}, payload={})
    await apply(
        analytics_runtime,
        a.course(title="Alpha"),
        b.course(title="Beta"),
        a.enrollment("created"),
        b.enrollment("created"),
        b2.enrollment("created"),
        a.quiz(2, 4, False),
        b2.lab("stopped", 3600.0),
        job,
        login,
    )
    body = await analytics_gql(ORG_REPORT, {"o": school.org}, token=school.admin.token)
    assert "errors" not in body, body
    r = body["data"]["organizationReport"]
    assert (r["enrollments"], r["activeStudents"], r["labHours"], r["generationJobs"]) == (3, 3, 1.0, 1)
    assert [(c["title"], c["stats"]["enrollments"]) for c in r["courses"]] == [("Alpha", 1), ("Beta", 2)]
    assert r["series"][-1]["activeStudents"] == 3 and r["series"][-1]["submissions"] == 1
    csv = await analytics_http.get(
        f"/reports/organization/{school.org}.csv", headers={"Authorization": f"Bearer {school.admin.token}"}
    )
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("course_id,title,enrollments") and len(lines) == 3
    assert csv.headers["cache-control"] == "no-store"
    assert lines[2].startswith(f"{b.course_id},Beta,2,2,0.0,")
    mine = await analytics_gql(STUDENT_REPORT, {"u": a.user_id, "c": a.course_id}, token=school.admin.token)
    assert mine["data"]["studentReport"]["lastLoginAt"] == login.occurred_at.isoformat()


async def test_csv_cells_from_user_text_are_never_formulas(analytics_http, analytics_runtime, courses):
    school = await courses.school()
    titles = ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)", "Plain"]
    students = [Student(organization_id=school.org, instructor_id=school.instructor.id) for _ in titles]
    await apply(analytics_runtime, *(s.course(title=t) for s, t in zip(students, titles, strict=True)))
    got = await analytics_http.get(
        f"/reports/organization/{school.org}.csv", headers={"Authorization": f"Bearer {school.admin.token}"}
    )
    cells = sorted(row[1] for row in list(csv_module.reader(got.text.splitlines()))[1:])
    assert cells == sorted(["'" + t for t in titles[:-1]] + ["Plain"])
