"""The demo data as `make run` shows it: demo accounts sign in through the browser-session route and land on
content (enrollments with progress, a quiz attempt), and analytics has followed the seed's events."""

from __future__ import annotations

import pytest

from subgraphs.core.seeding import DEMO_PASSWORD
from subgraphs.core.settings import get_settings
from subgraphs.tooling.seed_runner import seed_demo
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

MY_ENROLLMENTS = """{ me { email enrollments { nodes { status progressPercent
  course { title modules { nodes { title } } } } } } }"""
COURSE_STATS = """query($slug: String!) { courses(filter: {search: $slug}) { nodes { title slug
  stats { enrollments averageProgress averageQuizScore } } } }"""


async def sign_in(router_http, email: str) -> str:
    router_http.cookies.clear()
    response = await router_http.post(
        "/auth/login", json={"email": email, "password": DEMO_PASSWORD}, headers={"X-CourseGraph-CSRF": "1"}
    )
    assert response.status_code == 200, response.text
    return response.json()["accessToken"]


async def test_demo_accounts_land_on_content(router_http, router_gql):
    await seed_demo(get_settings())
    student = await sign_in(router_http, "student@coursegraph.dev")
    body = await router_gql(MY_ENROLLMENTS, token=student)
    assert "errors" not in body, body
    enrollments = {e["course"]["title"]: e for e in body["data"]["me"]["enrollments"]["nodes"]}
    foundations = enrollments["Python Foundations"]
    assert foundations["status"] == "ACTIVE" and 0 < foundations["progressPercent"] < 100, foundations
    assert len(foundations["course"]["modules"]["nodes"]) == 3
    assert "Data Analysis with pandas" in enrollments

    # The seed's events reach analytics once the worker (running here) relays them.
    instructor = await sign_in(router_http, "instructor@coursegraph.dev")

    async def foundations_stats() -> dict | None:
        found = await router_gql(COURSE_STATS, {"slug": "Python Foundations"}, token=instructor)
        nodes = [c for c in found["data"]["courses"]["nodes"] if c["slug"] == "python-foundations"]
        stats = nodes[0]["stats"] if nodes else None
        ready = stats and stats["enrollments"] == 2 and stats["averageQuizScore"] is not None
        return stats if ready else None

    stats = await eventually(foundations_stats, timeout=30, what="analytics of the demo course")
    assert stats["averageProgress"] > 0 and stats["averageQuizScore"] > 0, stats
