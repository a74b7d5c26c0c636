"""Analytics end to end through the real router, fed only by the worker's consumer: an instructor builds a
course of two lessons and a quiz; a student enrolls, completes a lesson, fails the quiz twice and works in a
lab (lab events published to `events.labs` with the relay's own serialization — the labs domain is not on
this branch). Course.stats, Enrollment.engagement and courseReport's series move as the formulas say, and the
instructor's `riskAlerts` subscription (WebSocket through the router) gets exactly one alert on the rise to
HIGH. The CSV route answers the instructor and refuses the student."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
import pytest
import websockets
from redis.asyncio import Redis

from subgraphs.core.db import utcnow
from subgraphs.core.events import Event, stream_fields, stream_name
from subgraphs.core.settings import get_settings
from tests.e2e.test_courses_through_router import (
    COMPLETE,
    CREATE_COURSE,
    CREATE_LESSON,
    CREATE_MODULE,
    CREATE_QUESTION,
    CREATE_QUIZ,
    ENROLL,
    PUBLISH,
    PUBLISH_QUIZ,
    SAVE,
    START,
    SUBMIT,
    member,
    until,
)
from tests.e2e.test_organizations_through_router import CREATE, verified_user

pytestmark = pytest.mark.e2e

STATS = """query($c: ID!) { course(id: $c) { id stats { enrollments activeStudents activeToday completionRate
  averageQuizScore averageProgress labHours atRiskCount } } }"""
MY_ENGAGEMENT = """{ me { enrollments(first: 10) { edges { node { id progressPercent
  engagement { engagementScore proficiencyScore riskLevel indicators { name contributes } } } } } } }"""
REPORT = """query($c: ID!) { courseReport(courseId: $c) { csvUrl stats { atRiskCount }
  series { day activeStudents submissions labHours lessonCompletions }
  students { quizAttempts engagement { riskLevel } } } }"""
ALERTS = """subscription($c: ID!) { riskAlerts(courseId: $c) { seq level previousLevel engagementScore
  proficiencyScore user { id } indicators { name value threshold contributes } recommendations } }"""


class Subscription:
    """A minimal graphql-transport-ws client."""

    def __init__(self, url: str, token: str, query: str, variables: dict) -> None:
        self.url, self.token, self.query, self.variables = url, token, query, variables

    async def __aenter__(self) -> Subscription:
        self.ws = await websockets.connect(self.url, subprotocols=["graphql-transport-ws"])
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}}
        await self.ws.send(json.dumps(init))
        ack = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        payload = {"query": self.query, "variables": self.variables}
        await self.ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        return self

    async def next(self, timeout: float = 30) -> dict:
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if message["type"] == "next":
                assert not message["payload"].get("errors"), message
                return message["payload"]["data"]
            if message["type"] in ("error", "complete"):
                raise AssertionError(message)

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()


def lab_event(verb: str, *, user: str, course: str, org: str, session: str, seconds: float = 0.0) -> Event:
    """The lab session events of README "Labs → Events"."""
    return Event(
        type=f"labs.session.{verb}",
        actor_id=user,
        organization_id=org,
        subject_ids={"session_id": session, "user_id": user},
        payload={
            "session_id": session,
            "user_id": user,
            "organization_id": org,
            "exercise_id": str(uuid.uuid4()),
            "course_id": course,
            "ide": "JUPYTER",
            "status": "RUNNING" if verb == "started" else "STOPPED",
            "running_seconds": seconds,
            "reason": "user" if verb == "stopped" else None,
        },
    )


async def test_analytics_through_router(platform, router_gql, unique_email):
    admin = await verified_user(router_gql, unique_email("e2e-an-owner"), "Ana Owner")
    created = await router_gql(
        CREATE,
        {"input": {"name": "Analytics Academy", "slug": f"aa-{int(time.time() * 1000)}"}},
        token=admin["accessToken"],
    )
    org = created["data"]["createOrganization"]["organization"]["id"]
    teacher = await member(
        router_gql, unique_email, admin["accessToken"], org, "INSTRUCTOR", "Ira Instructor"
    )
    student = await member(router_gql, unique_email, admin["accessToken"], org, "STUDENT", "Sam Student")
    t, s = teacher["accessToken"], student["accessToken"]

    async def run(document: str, field: str, token: str, **input_: object) -> dict:
        body = await router_gql(document, {"input": input_}, token=token)
        assert "errors" not in body, body
        return body["data"][field]

    course = (
        await run(
            CREATE_COURSE, "createCourse", t, organizationId=org, title="Metrics 101", slug="metrics-101"
        )
    )["course"]
    module = (await run(CREATE_MODULE, "createModule", t, courseId=course["id"], title="One"))["module"]
    lessons = [
        (await run(CREATE_LESSON, "createLesson", t, moduleId=module["id"], title=f"L{i}", body="x"))[
            "lesson"
        ]
        for i in (1, 2)
    ]
    await run(PUBLISH, "publishCourse", t, id=course["id"])
    quiz = (
        await until(
            lambda: run(CREATE_QUIZ, "createQuiz", t, courseId=course["id"], title="Check", passingScore=60),
            lambda a: a["__typename"] == "QuizSuccess",
        )
    )["quiz"]
    question = {"type": "TRUE_FALSE", "prompt": "Is 1 > 2?", "correctBoolean": False, "points": 1}
    q = (await run(CREATE_QUESTION, "createQuestion", t, quizId=quiz["id"], question=question))["question"]
    await run(PUBLISH_QUIZ, "publishQuiz", t, id=quiz["id"])

    await run(ENROLL, "enroll", s, courseId=course["id"])
    await run(COMPLETE, "completeLesson", s, lessonId=lessons[0]["id"])

    async def stats() -> dict:
        body = await router_gql(STATS, {"c": course["id"]}, token=t)
        assert "errors" not in body, body
        return body["data"]["course"]["stats"]

    seen = await until(stats, lambda st: st is not None and st["averageProgress"] == 50.0)
    assert (seen["enrollments"], seen["activeStudents"], seen["activeToday"], seen["atRiskCount"]) == (
        1,
        1,
        1,
        0,
    )

    async def mine() -> dict:
        body = await router_gql(MY_ENGAGEMENT, token=s)
        assert "errors" not in body, body
        return body["data"]["me"]["enrollments"]["edges"][0]["node"]

    node = await until(mine, lambda n: n["engagement"] is not None)
    # recency 100, 1 active day of 7, progress 50: 40 + 2.857 + 12.5 = 55.357
    assert (node["engagement"]["engagementScore"], node["engagement"]["riskLevel"]) == (55.4, "LOW")

    ws_url = platform.router_url.replace("http", "ws") + "/graphql"
    async with Subscription(ws_url, t, ALERTS, {"c": course["id"]}) as alerts:
        for attempt_no in (1, 2):  # wrong both times: 0 %
            attempt = (
                await until(
                    lambda: run(START, "startQuizAttempt", s, quizId=quiz["id"]),
                    lambda a: a["__typename"] == "QuizAttemptSuccess",
                )
            )["attempt"]
            await run(
                SAVE, "saveAnswer", s, attemptId=attempt["id"], questionId=q["id"], answer={"boolean": True}
            )
            scored = await run(SUBMIT, "submitQuizAttempt", s, attemptId=attempt["id"])
            assert scored["attempt"]["passed"] is False, (attempt_no, scored)
            if attempt_no == 1:  # one failed attempt: proficiency 0 contributes → MEDIUM, no alert yet
                # (waited for, so the two attempts are not ingested in one batch: LOW → HIGH at once)
                await until(mine, lambda n: n["engagement"]["riskLevel"] == "MEDIUM")
        alert = (await alerts.next())["riskAlerts"]
        assert (alert["level"], alert["previousLevel"], alert["user"]["id"]) == (
            "HIGH",
            "MEDIUM",
            student["user"]["id"],
        )
        assert alert["proficiencyScore"] == 0.0
        assert sorted(i["name"] for i in alert["indicators"] if i["contributes"]) == [
            "failed_quiz_attempts",
            "proficiency_score",
        ]
        assert alert["recommendations"][0] == "Contact the student directly within two days."

        # Lab time, as the labs domain's relay publishes it.
        redis = Redis.from_url(get_settings().redis.url)
        try:
            session_id = str(uuid.uuid4())
            ids = {"user": student["user"]["id"], "course": course["id"], "org": org, "session": session_id}
            for event in (lab_event("started", **ids), lab_event("stopped", seconds=5400.0, **ids)):
                await redis.xadd(stream_name("labs"), stream_fields(event))
        finally:
            await redis.aclose()
        seen = await until(stats, lambda st: st["labHours"] == 1.5)
        assert (seen["averageQuizScore"], seen["atRiskCount"]) == (0.0, 1)

        # Still HIGH after a third failure: no second alert.
        attempt = (await run(START, "startQuizAttempt", s, quizId=quiz["id"]))["attempt"]
        await run(SUBMIT, "submitQuizAttempt", s, attemptId=attempt["id"])

        async def report() -> dict:
            body = await router_gql(REPORT, {"c": course["id"]}, token=t)
            assert "errors" not in body, body
            return body["data"]["courseReport"]

        r = await until(report, lambda r: r["students"][0]["quizAttempts"] == 3)
        with pytest.raises(TimeoutError):
            await alerts.next(timeout=1.5)

    today = str(utcnow().date())
    assert r["series"][-1] == {
        "day": today,
        "activeStudents": 1,
        "submissions": 3,
        "labHours": 1.5,
        "lessonCompletions": 1,
    }
    assert all(p["activeStudents"] == 0 for p in r["series"][:-1]) and len(r["series"]) == 30
    node = await mine()
    # + lab 0.15 * 100 * 1.5 h / 2 h = 11.25 -> 66.607
    assert (node["engagement"]["engagementScore"], node["engagement"]["riskLevel"]) == (66.6, "HIGH")

    # The CSV, straight from the analytics subgraph with the same token (its own authentication).
    async with httpx.AsyncClient(base_url=platform.subgraph_urls["analytics"]) as http:
        path = f"/reports/course/{course['id']}.csv"
        ok = await http.get(path, headers={"Authorization": f"Bearer {t}"})
        assert ok.status_code == 200 and student["user"]["id"] in ok.text
        assert (await http.get(path, headers={"Authorization": f"Bearer {s}"})).status_code == 403
