"""How an export reads a course: one GraphQL query through the router, as the content service.

The course, its modules, lessons and exercises live in the courses domain and its quizzes in the quizzes
domain; the content domain never reads their tables. The worker gets a short-lived service token bound to
the course's organization (core.service_tokens) and asks the router, which joins both subgraphs and
applies every subgraph's own checks. Why not projections fed by events: an export needs every lesson body,
exercise and quiz answer exactly as they are now; copying all of that into the content schema would
duplicate two domains' data for a rare operation. Attachments are ours: read from our own tables and store.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from subgraphs.content.exports.document import (
    Answer,
    Attachment,
    CourseDocument,
    Exercise,
    Lesson,
    Module,
    Question,
    Quiz,
)
from subgraphs.core import service_tokens
from subgraphs.core.settings import Settings

# Page sizes stay within the router's cost limit (modules x lessons + quizzes x questions).
COURSE_QUERY = """
query ExportCourse($id: ID!) {
  course(id: $id) {
    id title description category difficulty
    modules(first: 100) { nodes { id title lessons(first: 100) { nodes { id title body } } } }
    exercises(first: 100) { nodes { title instructions language } }
    quizzes(first: 50) { nodes { title description passingScore
      questions(first: 100) { nodes { type prompt options points explanation
        correctAnswer { choices boolean acceptedAnswers number tolerance } } } } }
  }
}"""

# lesson id -> its attachments (name, MIME type, bytes), read by the caller from the content store.
Attachments = Callable[[list[uuid.UUID]], Awaitable[dict[uuid.UUID, list[Attachment]]]]


class CourseUnreadable(Exception):
    """The router did not give the course (unknown, refused, or an error): the job fails with this."""


def router_url(settings: Settings) -> str:
    return (settings.content.router_url or f"http://{settings.router.host}:{settings.router.port}").rstrip(
        "/"
    )


async def read_course(
    settings: Settings, *, course_id: uuid.UUID, organization_id: uuid.UUID, attachments: Attachments
) -> CourseDocument:
    token = await service_tokens.fetch_service_token(
        settings,
        service="content",
        organization_id=organization_id,
        scopes=sorted(service_tokens.SERVICE_SCOPES),
    )
    async with httpx.AsyncClient(base_url=router_url(settings), timeout=60) as http:
        response = await http.post(
            "/graphql",
            json={"query": COURSE_QUERY, "variables": {"id": str(course_id)}},
            headers={"Authorization": f"Bearer {token}"},
        )
    body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    course = (body.get("data") or {}).get("course")
    if response.status_code != 200 or course is None or body.get("errors"):
        problem = (
            "; ".join(e.get("message", "") for e in body.get("errors") or [])
            or f"HTTP {response.status_code}"
        )
        raise CourseUnreadable(f"The course could not be read: {problem}")
    lesson_ids = [
        uuid.UUID(lesson["id"]) for m in course["modules"]["nodes"] for lesson in m["lessons"]["nodes"]
    ]
    files = await attachments(lesson_ids)
    return document_of(course, files)


def _correct(answer: dict[str, Any] | None) -> tuple[Answer, ...]:
    if not answer:
        return ()
    if answer.get("choices") is not None:
        return tuple(answer["choices"])
    if answer.get("boolean") is not None:
        return (answer["boolean"],)
    if answer.get("acceptedAnswers") is not None:
        return tuple(answer["acceptedAnswers"])
    if answer.get("number") is not None:
        return (answer["number"], answer.get("tolerance") or 0)
    return ()


def document_of(course: dict[str, Any], files: dict[uuid.UUID, list[Attachment]]) -> CourseDocument:
    """The router's answer as the exports' CourseDocument."""
    return CourseDocument(
        title=course["title"],
        description=course.get("description") or "",
        category=course.get("category") or "",
        difficulty=course.get("difficulty") or "BEGINNER",
        modules=tuple(
            Module(
                title=m["title"],
                lessons=tuple(
                    Lesson(
                        title=lesson["title"],
                        body_markdown=lesson.get("body") or "",
                        attachments=tuple(files.get(uuid.UUID(lesson["id"]), ())),
                    )
                    for lesson in m["lessons"]["nodes"]
                ),
            )
            for m in course["modules"]["nodes"]
        ),
        exercises=tuple(
            Exercise(
                title=e["title"], instructions_markdown=e.get("instructions") or "", language=e["language"]
            )
            for e in course["exercises"]["nodes"]
        ),
        quizzes=tuple(
            Quiz(
                title=q["title"],
                description=q.get("description") or "",
                passing_score=q.get("passingScore") or 60,
                questions=tuple(
                    Question(
                        type=question["type"],
                        prompt=question["prompt"],
                        options=tuple(question.get("options") or ()),
                        correct=_correct(question.get("correctAnswer")),
                        points=question.get("points") or 1,
                        explanation=question.get("explanation") or "",
                    )
                    for question in q["questions"]["nodes"]
                ),
            )
            for q in (course.get("quizzes") or {}).get("nodes", [])
        ),
    )
