"""Generated drafts: the courses domain applies `generator.result.applied` of SYLLABUS, SLIDES and EXERCISES
jobs (QUIZ jobs are the quizzes domain's).

`GeneratedContentConsumer` (run by `coursegraph worker`, group courses-generation on `events.generator`)
writes everything a result creates in ONE transaction with the event id (`processed_event`) and a marker
per generation job (`applied_generation`, job → course): a redelivered event, or the same job announced
twice, creates nothing twice; the marker also answers `GenerationJob.appliedCourse`. The event's
organization must own the course; otherwise (or when the course is archived or gone) the event is ignored
with a warning. Events of what it creates are attributed to whoever applied the result.

What a result becomes (all of it draft content the instructor edits):
Applied modules and lessons arrive as drafts (`published` false): the course's editors see and edit them
and publish them with publishModule / publishLesson; students see none of it until then.
- SYLLABUS: one module per syllabus module, titled "Week <n>: <title>" (a "Week <n>:" the title already
  starts with is not repeated), holding one lesson per topic
  (a Markdown stub naming the topic, its week and the module's hours), appended after the course's
  modules. Without a course, a DRAFT course is created first in the job's organization with the
  requester as instructor (a user; a job requested by an API client is ignored), titled as the syllabus,
  its slug derived from the title (made unique with -2, -3, ...), its description the overview, learning
  objectives, prerequisites and assessments, its estimated hours the modules' sum.
- SLIDES: one lesson appended to the job's module, the deck in Markdown (a `---` rule between slides,
  bullets as a list, speaker notes as a quote).
- EXERCISES: one exercise per generated exercise on the course: instructions, language, the starter
  code as `main.<ext>` and the tests (instructors only) as `test_main.<ext>`; the reference solution is
  not stored (nowhere for it that students cannot reach later).
Course limits hold (100 modules, 100 lessons per module, 100 exercises): what does not fit is left out
with a warning.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any, ClassVar

from redis.asyncio import Redis
from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.core.auth import ANONYMOUS, Principal
from subgraphs.core.context import RequestMeta
from subgraphs.core.events import Consumer, Event, emit, stream_name
from subgraphs.courses import service
from subgraphs.courses.models import (
    AppliedGeneration,
    Course,
    Exercise,
    Lesson,
    Module,
    Outbox,
    ProcessedEvent,
)

log = logging.getLogger("coursegraph.courses")

APPLIED = "generator.result.applied"
KINDS = frozenset({"SYLLABUS", "SLIDES", "EXERCISES"})
EXTENSIONS = {
    "python": "py",
    "javascript": "js",
    "typescript": "ts",
    "rust": "rs",
    "go": "go",
    "java": "java",
    "c": "c",
    "cpp": "cpp",
    "c++": "cpp",
    "ruby": "rb",
    "sql": "sql",
    "bash": "sh",
    "shell": "sh",
}


def event_meta(event: Event) -> RequestMeta:
    """Events written while applying another domain's event are attributed to that event's actor."""
    actor = Principal(subject=event.actor_id, kind="user") if event.actor_id else ANONYMOUS
    return RequestMeta(principal=actor, request_id=event.request_id, client_ip=event.source_ip or "unknown")


def slug_base(title: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:56].strip("-")
    return base if len(base) >= 3 else f"course-{base}".strip("-")


async def unique_slug(session: AsyncSession, organization_id: uuid.UUID, title: str) -> str:
    base = slug_base(title)
    taken = set(
        (
            await session.scalars(
                select(Course.slug).where(
                    Course.organization_id == organization_id,
                    or_(Course.slug == base, Course.slug.like(f"{base}-%")),
                )
            )
        ).all()
    )
    n, slug = 1, base
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug


def _clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text[:limit] if text else "Untitled"


WEEK_PREFIX = re.compile(r"^\s*week\s*\d+\s*(?:[:.\-–—]\s*|$)", re.IGNORECASE)


def module_title(generated: dict[str, Any]) -> str:
    """ "Week <n>: <title>", whether or not the model already wrote "Week <n>" into the title."""
    rest = WEEK_PREFIX.sub("", str(generated.get("title") or "")).strip()
    week = f"Week {generated.get('week')}"
    return _clip(f"{week}: {rest}" if rest else week, 200)


def _course_description(syllabus: dict[str, Any]) -> str:
    parts = [str(syllabus.get("overview") or "").strip()]
    for heading, key in (
        ("Learning objectives", "learning_objectives"),
        ("Prerequisites", "prerequisites"),
        ("Assessments", "assessments"),
    ):
        items = syllabus.get(key) or []
        if items:
            parts.append(f"## {heading}\n\n" + "\n".join(f"- {item}" for item in items))
    return "\n\n".join(p for p in parts if p)[:10_000]


def topic_body(topic: str, module: dict[str, Any]) -> str:
    return (
        f"# {topic}\n\n"
        f"*Week {module.get('week')}: {module.get('title')} — about {module.get('duration_hours')} h for the "
        "module.*\n\nDraft lesson from the generated syllabus: write its content here.\n"
    )


def deck_markdown(deck: dict[str, Any]) -> str:
    parts = [f"# {deck.get('title')}"]
    for slide in deck.get("slides") or []:
        lines = [f"## {slide.get('title')}", "", *(f"- {b}" for b in slide.get("bullets") or [])]
        if slide.get("speaker_notes"):
            lines += ["", f"> Speaker notes: {slide['speaker_notes']}"]
        parts.append("\n".join(lines))
    return "\n\n---\n\n".join(parts)[: service.MAX_BODY]


def _requester(event: Event) -> uuid.UUID | None:
    p = event.payload
    if p.get("requested_by_kind") != "user":
        return None
    try:
        return uuid.UUID(str(p.get("requested_by")))
    except ValueError:
        return None


class _Apply:
    """One result applied inside one transaction."""

    def __init__(self, session: AsyncSession, event: Event, job_id: uuid.UUID) -> None:
        self.session, self.event, self.job_id = session, event, job_id
        self.meta = event_meta(event)

    def ignore(self, why: str) -> None:
        log.warning("generation job %s (%s): %s; ignored", self.job_id, self.event.payload.get("kind"), why)

    def content_event(self, type_: str, course: Course, **subjects: Any) -> None:
        emit(self.session, Outbox, service._content_event(self.meta, type_, course, **subjects))

    async def new_course(self, syllabus: dict[str, Any]) -> Course | None:
        instructor = _requester(self.event)
        if instructor is None:
            self.ignore("a new course needs a requesting user as its instructor")
            return None
        organization_id = uuid.UUID(self.event.organization_id)
        title = _clip(syllabus.get("title") or "Generated course", 200)
        hours = round(sum(float(m.get("duration_hours") or 0) for m in syllabus.get("modules") or []))
        course = Course(
            organization_id=organization_id,
            instructor_id=instructor,
            title=title,
            slug=await unique_slug(self.session, organization_id, title),
            description=_course_description(syllabus),
            category="",
            difficulty=service.Difficulty.BEGINNER.value,
            estimated_duration_hours=min(max(hours, 1), 10_000) if hours else None,
            status=service.CourseStatus.DRAFT.value,
            visibility=service.Visibility.ORGANIZATION.value,
        )
        self.session.add(course)
        await self.session.flush()
        emit(self.session, Outbox, service._course_event(self.meta, "created", course))
        return course

    async def course(self, course_id: str | None) -> Course | None:
        course = (
            await self.session.get(Course, uuid.UUID(course_id), with_for_update=True) if course_id else None
        )
        if course is None or str(course.organization_id) != self.event.organization_id:
            self.ignore(f"course {course_id} is not a course of organization {self.event.organization_id}")
            return None
        if course.status == service.CourseStatus.ARCHIVED:
            self.ignore(f"course {course_id} is archived")
            return None
        return course

    async def syllabus(self, course: Course, syllabus: dict[str, Any]) -> None:
        count, last = (
            await self.session.execute(
                select(func.count(), func.max(Module.position)).where(Module.course_id == course.id)
            )
        ).one()
        modules = list(syllabus.get("modules") or [])
        room = service.MAX_MODULES - count
        if len(modules) > room:
            log.warning(
                "generation job %s: %d modules left out (course full)", self.job_id, len(modules) - room
            )
            modules = modules[: max(room, 0)]
        for offset, generated in enumerate(modules, start=1):
            module = Module(
                course_id=course.id,
                title=module_title(generated),
                position=(last or 0) + offset,
                published=False,
            )
            self.session.add(module)
            await self.session.flush()
            self.content_event("courses.module.created", course, module_id=module.id)
            for position, topic in enumerate((generated.get("topics") or [])[: service.MAX_LESSONS], start=1):
                await self.lesson(course, module, _clip(topic, 200), topic_body(topic, generated), position)

    async def lesson(self, course: Course, module: Module, title: str, body: str, position: int) -> None:
        lesson = Lesson(
            module_id=module.id,
            course_id=course.id,
            title=title,
            body=body,
            position=position,
            published=False,
        )
        self.session.add(lesson)
        await self.session.flush()
        self.content_event("courses.lesson.created", course, lesson_id=lesson.id)

    async def slides(self, course: Course, module_id: str | None, deck: dict[str, Any]) -> bool:
        module = await self.session.get(Module, uuid.UUID(module_id)) if module_id else None
        if module is None or module.course_id != course.id:
            self.ignore(f"module {module_id} is not a module of course {course.id}")
            return False
        count, last = (
            await self.session.execute(
                select(func.count(), func.max(Lesson.position)).where(Lesson.module_id == module.id)
            )
        ).one()
        if count >= service.MAX_LESSONS:
            self.ignore(f"module {module.id} is full")
            return False
        title = _clip(deck.get("title") or "Slides", 200)
        await self.lesson(course, module, title, deck_markdown(deck), (last or 0) + 1)
        return True

    async def exercises(self, course: Course, generated: list[dict[str, Any]]) -> None:
        count = await self.session.scalar(
            select(func.count()).select_from(Exercise).where(Exercise.course_id == course.id)
        )
        room = max(service.MAX_EXERCISES - count, 0)
        if len(generated) > room:
            log.warning(
                "generation job %s: %d exercises left out (course full)", self.job_id, len(generated) - room
            )
        for item in generated[:room]:
            language = _clip(item.get("language") or "python", 32).lower()
            ext = EXTENSIONS.get(language, "txt")
            starter = (
                [{"path": f"main.{ext}", "content": item["starter_code"]}] if item.get("starter_code") else []
            )
            exercise = Exercise(
                course_id=course.id,
                title=_clip(item.get("title") or "Exercise", 200),
                instructions=str(item.get("instructions") or "")[: service.MAX_BODY],
                language=language,
                starter_files=starter,
                tests=[
                    {"path": f"test_main.{ext}", "content": str(item.get("tests") or "")[: service.MAX_BODY]}
                ],
                ide=service.LabIde.VSCODE.value,
            )
            self.session.add(exercise)
            await self.session.flush()
            self.content_event("courses.exercise.created", course, exercise_id=exercise.id)


async def apply_generated_content(
    sessionmaker: async_sessionmaker[AsyncSession], event: Event
) -> uuid.UUID | None:
    """The course the result was applied to; None when the event is not for this domain, was applied
    before, or is refused."""
    kind = event.payload.get("kind")
    if event.type != APPLIED or kind not in KINDS:
        return None
    p = event.payload
    job_id = uuid.UUID(event.subject_ids["job_id"])
    result = p.get("result") or {}
    async with sessionmaker() as session, session.begin():
        fresh = await session.scalar(
            insert(ProcessedEvent)
            .values(event_id=event.id)
            .on_conflict_do_nothing()
            .returning(ProcessedEvent.event_id)
        )
        if fresh is None or await session.get(AppliedGeneration, job_id) is not None:
            return None
        apply = _Apply(session, event, job_id)
        course_id = p.get("course_id") or event.subject_ids.get("course_id")
        if kind == "SYLLABUS" and not course_id:
            course = await apply.new_course(result)
        else:
            course = await apply.course(course_id)
        if course is None:
            return None
        if kind == "SYLLABUS":
            await apply.syllabus(course, result)
        elif kind == "SLIDES":
            if not await apply.slides(course, p.get("module_id"), result):
                return None
        else:
            await apply.exercises(course, list(result.get("exercises") or []))
        await service._refresh_progress(session, course.id)
        service._touch(course)
        session.add(AppliedGeneration(job_id=job_id, course_id=course.id, kind=kind))
    return course.id


class GeneratedContentConsumer(Consumer):
    """Applies generated syllabi, slide decks and exercises (worker, group courses-generation)."""

    group: ClassVar[str] = "courses-generation"
    streams: ClassVar[tuple[str, ...]] = (stream_name("generator"),)

    def __init__(self, redis: Redis, sessionmaker: async_sessionmaker[AsyncSession], **kwargs: Any) -> None:
        super().__init__(redis, **kwargs)
        self._sessionmaker = sessionmaker

    async def handle(self, event: Event) -> None:
        await apply_generated_content(self._sessionmaker, event)
