"""The floor of the student dashboard: the same JSON as the dashboard query, by hand, at the least cost.

A bare ASGI app (no framework, no GraphQL) in one uvicorn process: it verifies the caller's JWT against the
users subgraph's JWKS exactly like the subgraphs do (`core.auth.TokenVerifier`, EdDSA pinned, kid, iss,
aud, exp, iat), then runs ONE SQL statement that builds the whole response with `json_build_object` /
`json_agg` and sends PostgreSQL's text as it is. It answers only the dashboard (tests/perf/bench_dashboard.py
starts it and compares its answer with the router's), for a student: published modules, lessons and
quizzes, the student's own attempts. It reads across the domains' schemas, which the platform never does:
it is a yardstick, not a design.

    uv run uvicorn tests.perf.dashboard_floor:app --port 4090     # DATABASE_URL, COURSEGRAPH_AUTH__JWKS_URL
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from subgraphs.core.app import bearer_token
from subgraphs.core.auth import InvalidAccessToken, JwksClient, TokenVerifier
from subgraphs.core.settings import get_settings

# Page sizes are the fields' defaults (first: 20), each connection taking its first 20 in the order its
# resolver uses: enrollments (enrolled_at, id), modules and lessons (position, id), exercises
# (created_at, id), quizzes (created_at, id), attempts (number, id).
DASHBOARD_SQL = """
SELECT json_build_object('data', json_build_object('me', json_build_object(
  'fullName', me.full_name,
  'enrollments', json_build_object('edges', coalesce((
    SELECT json_agg(json_build_object('node', json_build_object(
      'status', e.status,
      'progressPercent', e.progress_percent,
      'course', json_build_object(
        'id', c.id,
        'title', c.title,
        'instructor', json_build_object(
          'fullName', (SELECT i.full_name FROM users."user" i WHERE i.id = c.instructor_id)),
        'modules', json_build_object('nodes', coalesce((
          SELECT json_agg(json_build_object(
            'title', m.title,
            'lessons', json_build_object('nodes', coalesce((
              SELECT json_agg(json_build_object(
                'title', l.title,
                'completed', EXISTS (SELECT 1 FROM courses.lesson_completion lc
                                     WHERE lc.enrollment_id = e.id AND lc.lesson_id = l.id)
              ) ORDER BY l.position, l.id)
              FROM (SELECT * FROM courses.lesson l WHERE l.module_id = m.id AND l.published
                    ORDER BY l.position, l.id LIMIT 20) l
            ), '[]'::json))
          ) ORDER BY m.position, m.id)
          FROM (SELECT * FROM courses.module m WHERE m.course_id = c.id AND m.published
                ORDER BY m.position, m.id LIMIT 20) m
        ), '[]'::json)),
        'exercises', json_build_object('nodes', coalesce((
          SELECT json_agg(json_build_object('title', x.title) ORDER BY x.created_at, x.id)
          FROM (SELECT * FROM courses.exercise x WHERE x.course_id = c.id
                ORDER BY x.created_at, x.id LIMIT 20) x
        ), '[]'::json)),
        'quizzes', json_build_object('nodes', coalesce((
          SELECT json_agg(json_build_object(
            'title', q.title,
            'myAttempts', json_build_object('nodes', coalesce((
              SELECT json_agg(json_build_object('score', a.score, 'maxScore', a.max_score, 'passed', a.passed)
                              ORDER BY a.number, a.id)
              FROM (SELECT * FROM quizzes.quiz_attempt a WHERE a.quiz_id = q.id AND a.user_id = $1
                    ORDER BY a.number, a.id LIMIT 20) a
            ), '[]'::json))
          ) ORDER BY q.created_at, q.id)
          FROM (SELECT * FROM quizzes.quiz q
                WHERE q.course_id = c.id AND q.status = 'PUBLISHED'
                  AND (q.organization_id = ANY($2::uuid[]) OR EXISTS (
                    SELECT 1 FROM quizzes.enrollment_projection p
                    WHERE p.course_id = q.course_id AND p.user_id = $1
                      AND p.status IN ('ACTIVE', 'COMPLETED')))
                ORDER BY q.created_at, q.id LIMIT 20) q
        ), '[]'::json))
      )
    )) ORDER BY e.enrolled_at, e.id)
    FROM (SELECT * FROM courses.enrollment e WHERE e.user_id = $1
          ORDER BY e.enrolled_at, e.id LIMIT 20) e
    JOIN courses.course c ON c.id = e.course_id
  ), '[]'::json))
)))::text
FROM users."user" me WHERE me.id = $1
"""


class Floor:
    def __init__(self) -> None:
        self.pool: asyncpg.Pool | None = None
        self.verifier: TokenVerifier | None = None

    async def startup(self) -> None:
        settings = get_settings()
        dsn = settings.database.url.replace("postgresql+asyncpg://", "postgresql://")
        self.pool = await asyncpg.create_pool(dsn, min_size=10, max_size=10)
        jwks = JwksClient(
            settings.auth.jwks_url,
            cache_seconds=settings.auth.jwks_cache_seconds,
            min_refresh_interval=settings.auth.jwks_refresh_min_interval_seconds,
        )
        self.verifier = TokenVerifier(settings, jwks.get)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await self.startup()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self.pool is not None:
                        await self.pool.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        while (await receive()).get("more_body"):  # the body (the query) is not read: there is one answer
            pass
        headers = dict(scope["headers"])
        try:
            assert self.verifier is not None and self.pool is not None
            token = bearer_token(headers.get(b"authorization", b"").decode())
            if token is None:
                raise InvalidAccessToken()
            principal = await self.verifier.verify(token)
            user_id = principal.user_id
            if user_id is None:
                raise InvalidAccessToken()
        except InvalidAccessToken:
            await _send(send, 401, b'{"errors":[{"message":"invalid token"}]}')
            return
        orgs = [uuid.UUID(o) for o in principal.organization_ids]
        body = await self.pool.fetchval(DASHBOARD_SQL, user_id, orgs)
        await _send(send, 200, body.encode())


async def _send(send: Any, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


app = Floor()
