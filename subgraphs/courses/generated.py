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
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subgraphs.contracts.base import parse_if
from subgraphs.contracts.generation import (
    ExerciseSet,
    GeneratedExercise,
    Kind,
    SlideDeck,
    Syllabus,
    SyllabusModule,
)
from subgraphs.contracts.generator import ResultApplied
from subgraphs.contracts.vocabulary import Difficulty, LabIde
from subgraphs.core.consumers import DatabaseConsumer, claim_event, event_meta
from subgraphs.core.context import RequestMeta, publishing_transaction
from subgraphs.core.events import Event, emit, stream_name
from subgraphs.core.ids import to_uuid
from subgraphs.courses.access import touch
from subgraphs.courses.enrollment import refresh_progress
from subgraphs.courses.events import content_event, course_event, exercise_event
from subgraphs.courses.models import (
    AppliedGeneration,
    Course,
    CourseStatus,
    Exercise,
    Lesson,
    Module,
    Outbox,
    ProcessedEvent,
    Visibility,
)
from subgraphs.courses.validation import MAX_BODY, MAX_EXERCISES, MAX_LESSONS, MAX_MODULES

log = logging.getLogger("coursegraph.courses")

KINDS = frozenset({Kind.SYLLABUS, Kind.SLIDES, Kind.EXERCISES})
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


def clip(text: str, limit: int) -> str:
    """`text` on one line (whitespace runs made one space), cut to `limit`; "Untitled" when empty."""
    text = " ".join(str(text).split())
    return text[:limit] if text else "Untitled"


WEEK_PREFIX = re.compile(r"^\s*week\s*\d+\s*(?:[:.\-–—]\s*|$)", re.IGNORECASE)


def module_title(generated: SyllabusModule) -> str:
    """ "Week <n>: <title>", whether or not the model already wrote "Week <n>" into the title."""
    rest = WEEK_PREFIX.sub("", generated.title).strip()
    week = f"Week {generated.week}"
    return clip(f"{week}: {rest}" if rest else week, 200)


def _course_description(syllabus: Syllabus) -> str:
    parts = [syllabus.overview.strip()]
    for heading, items in (
        ("Learning objectives", syllabus.learning_objectives),
        ("Prerequisites", syllabus.prerequisites),
        ("Assessments", syllabus.assessments),
    ):
        if items:
            parts.append(f"## {heading}\n\n" + "\n".join(f"- {item}" for item in items))
    return "\n\n".join(p for p in parts if p)[:10_000]


def topic_body(topic: str, module: SyllabusModule) -> str:
    return (
        f"# {topic}\n\n"
        f"*Week {module.week}: {module.title} — about {module.duration_hours} h for the "
        "module.*\n\nDraft lesson from the generated syllabus: write its content here.\n"
    )


def deck_markdown(deck: SlideDeck) -> str:
    parts = [f"# {deck.title}"]
    for slide in deck.slides:
        lines = [f"## {slide.title}", "", *(f"- {b}" for b in slide.bullets)]
        if slide.speaker_notes:
            lines += ["", f"> Speaker notes: {slide.speaker_notes}"]
        parts.append("\n".join(lines))
    return "\n\n---\n\n".join(parts)[:MAX_BODY]


class _Apply:
    """One result applied inside one transaction."""

    def __init__(
        self,
        session: AsyncSession,
        event: Event,
        meta: RequestMeta,
        applied: ResultApplied,
        job_id: uuid.UUID,
    ) -> None:
        self.session, self.event, self.meta = session, event, meta
        self.applied, self.job_id = applied, job_id

    def ignore(self, why: str) -> None:
        log.warning("generation job %s (%s): %s; ignored", self.job_id, self.applied.kind, why)

    def content_event(self, type_: str, course: Course, **subjects: Any) -> None:
        emit(self.session, Outbox, content_event(self.meta, type_, course, **subjects))

    async def new_course(self, syllabus: Syllabus) -> Course | None:
        instructor = self.applied.requester_user_id
        if instructor is None:
            self.ignore("a new course needs a requesting user as its instructor")
            return None
        organization_id = uuid.UUID(self.event.organization_id)
        title = clip(syllabus.title, 200)
        hours = round(sum(m.duration_hours for m in syllabus.modules))
        course = Course(
            organization_id=organization_id,
            instructor_id=instructor,
            title=title,
            slug=await unique_slug(self.session, organization_id, title),
            description=_course_description(syllabus),
            category="",
            difficulty=Difficulty.BEGINNER.value,
            estimated_duration_hours=min(max(hours, 1), 10_000) if hours else None,
            status=CourseStatus.DRAFT.value,
            visibility=Visibility.ORGANIZATION.value,
        )
        self.session.add(course)
        await self.session.flush()
        emit(self.session, Outbox, course_event(self.meta, "created", course))
        return course

    async def course(self, course_id: uuid.UUID | None) -> Course | None:
        course = await self.session.get(Course, course_id, with_for_update=True) if course_id else None
        if course is None or str(course.organization_id) != self.event.organization_id:
            self.ignore(f"course {course_id} is not a course of organization {self.event.organization_id}")
            return None
        if course.status == CourseStatus.ARCHIVED:
            self.ignore(f"course {course_id} is archived")
            return None
        return course

    async def syllabus(self, course: Course, syllabus: Syllabus) -> None:
        count, last = (
            await self.session.execute(
                select(func.count(), func.max(Module.position)).where(Module.course_id == course.id)
            )
        ).one()
        modules = list(syllabus.modules)
        room = MAX_MODULES - count
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
            for position, topic in enumerate(generated.topics[:MAX_LESSONS], start=1):
                await self.lesson(course, module, clip(topic, 200), topic_body(topic, generated), position)

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

    async def slides(self, course: Course, module_id: uuid.UUID | None, deck: SlideDeck) -> bool:
        module = await self.session.get(Module, module_id) if module_id else None
        if module is None or module.course_id != course.id:
            self.ignore(f"module {module_id} is not a module of course {course.id}")
            return False
        count, last = (
            await self.session.execute(
                select(func.count(), func.max(Lesson.position)).where(Lesson.module_id == module.id)
            )
        ).one()
        if count >= MAX_LESSONS:
            self.ignore(f"module {module.id} is full")
            return False
        title = clip(deck.title, 200)
        await self.lesson(course, module, title, deck_markdown(deck), (last or 0) + 1)
        return True

    async def exercises(self, course: Course, generated: list[GeneratedExercise]) -> None:
        count = await self.session.scalar(
            select(func.count()).select_from(Exercise).where(Exercise.course_id == course.id)
        )
        room = max(MAX_EXERCISES - (count or 0), 0)
        if len(generated) > room:
            log.warning(
                "generation job %s: %d exercises left out (course full)", self.job_id, len(generated) - room
            )
        for item in generated[:room]:
            language = clip(item.language, 32).lower()
            ext = EXTENSIONS.get(language, "txt")
            starter = [{"path": f"main.{ext}", "content": item.starter_code}] if item.starter_code else []
            exercise = Exercise(
                course_id=course.id,
                title=clip(item.title, 200),
                instructions=item.instructions[:MAX_BODY],
                language=language,
                starter_files=starter,
                tests=[{"path": f"test_main.{ext}", "content": item.tests[:MAX_BODY]}],
                ide=LabIde.VSCODE.value,
            )
            self.session.add(exercise)
            await self.session.flush()
            # The full exercise event, as `create_exercise` emits it: labs projects its IDE and files.
            emit(self.session, Outbox, exercise_event(self.meta, "created", course, exercise))


async def apply_generated_content(
    sessionmaker: async_sessionmaker[AsyncSession], redis: Redis, event: Event
) -> uuid.UUID | None:
    """The course the result was applied to; None when the event is not for this domain, was applied
    before, or is refused."""
    applied = parse_if(event, ResultApplied)
    if applied is None or applied.kind not in KINDS:
        return None
    job_id = uuid.UUID(event.subject_ids["job_id"])
    result = applied.result
    async with publishing_transaction(sessionmaker, redis) as session:
        if not await claim_event(session, ProcessedEvent, event):
            return None  # a redelivery
        if await session.get(AppliedGeneration, job_id) is not None:
            return None  # the same job announced again
        apply = _Apply(session, event, event_meta(event, redis), applied, job_id)
        course_id = applied.course_id or to_uuid(event.subject_ids.get("course_id"))
        if isinstance(result, Syllabus) and not course_id:
            course = await apply.new_course(result)
        else:
            course = await apply.course(course_id)
        if course is None:
            return None
        if isinstance(result, Syllabus):
            await apply.syllabus(course, result)
        elif isinstance(result, SlideDeck):
            if not await apply.slides(course, applied.module_id, result):
                return None
        elif isinstance(result, ExerciseSet):
            await apply.exercises(course, result.exercises)
        await refresh_progress(session, course.id)
        touch(course)
        session.add(AppliedGeneration(job_id=job_id, course_id=course.id, kind=applied.kind.value))
    return course.id


class GeneratedContentConsumer(DatabaseConsumer):
    """Applies generated syllabi, slide decks and exercises (worker, group courses-generation)."""

    group: ClassVar[str] = "courses-generation"
    streams: ClassVar[tuple[str, ...]] = (stream_name("generator"),)

    async def handle(self, event: Event) -> None:
        await apply_generated_content(self.sessionmaker, self.redis, event)
