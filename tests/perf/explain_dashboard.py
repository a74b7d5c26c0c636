"""EXPLAIN ANALYZE of every SQL statement the student dashboard runs, on the scale data.

Runs each subgraph's part of the dashboard once in-process (users: `me` and the instructors' names;
courses: enrollments, courses, modules, lessons, completions, exercises; quizzes: quizzes and my attempts),
captures the statements with their parameters, and prints each one's plan with timings and buffers.
Needs a platform with the scale data (tests/perf/bench_dashboard.py) and the same environment:

    uv run python tests/perf/explain_dashboard.py [--router http://127.0.0.1:4000] [--student 0]
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import httpx

from tests.perf.bench_dashboard import COURSES_PART, DASHBOARD, LOGIN, QUIZZES_PART

USERS_PART = (
    """query($r: [_Any!]!) { me { fullName } _entities(representations: $r) { ... on User { fullName } } }"""
)


async def explain_part(name: str, factory: Any, query: str, variables: dict, token: str) -> None:
    from sqlalchemy import event

    from subgraphs.core.settings import get_settings

    app = factory(get_settings())
    async with app.router.lifespan_context(app):
        captured: list[tuple[str, Any]] = []

        def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
            captured.append((statement, parameters))

        engine = app.state.runtime.engine
        event.listen(engine.sync_engine, "before_cursor_execute", capture)
        try:
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50999))
            async with httpx.AsyncClient(transport=transport, base_url="http://explain") as http:
                response = await http.post(
                    "/graphql",
                    json={"query": query, "variables": variables},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert "errors" not in response.json(), response.text[:300]
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", capture)
        async with engine.connect() as conn:
            for n, (statement, parameters) in enumerate(captured, 1):
                plan = await conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
                print(f"\n=== {name} statement {n}/{len(captured)}\n{statement}\n--- plan")
                print("\n".join(row[0] for row in plan))


async def main() -> None:
    from subgraphs.core.seeding import DEMO_PASSWORD, SCALE_STUDENT_EMAIL
    from subgraphs.courses.app import create_app as courses_app
    from subgraphs.quizzes.app import create_app as quizzes_app
    from subgraphs.users.app import create_app as users_app

    parser = argparse.ArgumentParser()
    parser.add_argument("--router", default="http://127.0.0.1:4000")
    parser.add_argument("--student", type=int, default=0)
    args = parser.parse_args()
    async with httpx.AsyncClient(base_url=args.router, timeout=60) as http:
        body = {"input": {"email": SCALE_STUDENT_EMAIL.format(args.student), "password": DEMO_PASSWORD}}
        login = (await http.post("/graphql", json={"query": LOGIN, "variables": body})).json()["data"][
            "login"
        ]
        token = login["accessToken"]
        headers = {"Authorization": f"Bearer {token}"}
        dashboard = (await http.post("/graphql", json={"query": DASHBOARD}, headers=headers)).json()
    user_id = login["user"]["id"]
    course_ids = [e["node"]["course"]["id"] for e in dashboard["data"]["me"]["enrollments"]["edges"]]
    instructors = await _instructor_ids(course_ids)
    await explain_part(
        "users", users_app, USERS_PART, {"r": [{"__typename": "User", "id": i} for i in instructors]}, token
    )
    await explain_part(
        "courses", courses_app, COURSES_PART, {"r": [{"__typename": "User", "id": user_id}]}, token
    )
    reps = [{"__typename": "Course", "id": c} for c in course_ids]
    await explain_part("quizzes", quizzes_app, QUIZZES_PART, {"r": reps}, token)


async def _instructor_ids(course_ids: list[str]) -> list[str]:
    import asyncpg

    from subgraphs.core.settings import get_settings

    conn = await asyncpg.connect(get_settings().database.url.replace("postgresql+asyncpg", "postgresql"))
    try:
        rows = await conn.fetch(
            "SELECT DISTINCT instructor_id FROM courses.course WHERE id = ANY($1::uuid[])", course_ids
        )
    finally:
        await conn.close()
    return [str(r[0]) for r in rows]


if __name__ == "__main__":
    asyncio.run(main())
