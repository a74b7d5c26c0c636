"""Generated results applied by the courses domain's consumer of `events.generator` (real generator jobs,
real relay and Redis streams): a syllabus becomes draft modules and lessons (or a new draft course), slides
a lesson, exercises exercises; applying twice creates nothing twice; another organization's event is
ignored with a warning; `GenerationJob.appliedCourse` finds the course."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import func, select

from subgraphs.contracts.generation import Kind
from subgraphs.core.events import CACHE_SEQUENCE_KEY, CACHE_STAMP_PREFIX, Event
from subgraphs.courses.catalog import archive_course
from subgraphs.courses.generated import GeneratedContentConsumer, apply_generated_content, slug_base
from subgraphs.courses.models import AppliedGeneration, Course, Exercise, Lesson, Module, Outbox
from tests.subgraphs.courses.generation import deliver, drain

APPLIED_COURSE = """query($r: [_Any!]!) { _entities(representations: $r) { ... on GenerationJob {
  appliedCourse { id title status slug instructor { id }
    modules(first: 100) { nodes { title lessons { nodes { title body } } } } } } } }"""


async def applied_course(runtime, job_id):
    async with runtime.transaction() as session:
        row = await session.get(AppliedGeneration, job_id)
    return row and row.course_id


def consumer(runtime) -> GeneratedContentConsumer:
    return GeneratedContentConsumer(runtime.redis, runtime.sessionmaker, name="tests", block_ms=10)


async def count(runtime, model, **where) -> int:
    async with runtime.transaction() as session:
        stmt = select(func.count()).select_from(model)
        for key, value in where.items():
            stmt = stmt.where(getattr(model, key) == value)
        return await session.scalar(stmt)


async def test_a_syllabus_becomes_draft_modules_of_the_course(
    courses,
    courses_runtime,
    courses_gql,
    generation,
):
    school = await courses.school()
    course = await courses.course(school, publish=False, lessons=1)  # "Basics" stays first
    job_id, event = await generation.applied(
        school.instructor, Kind.SYLLABUS, school.org, course_id=course.id, duration_weeks=3
    )
    assert await deliver(
        courses_runtime, consumer(courses_runtime), lambda: applied_course(courses_runtime, job_id)
    )
    syllabus = event["payload"]["result"]
    body = await courses_gql(
        APPLIED_COURSE,
        {"r": [{"__typename": "GenerationJob", "id": str(job_id)}]},
        token=school.instructor.token,
    )
    seen = body["data"]["_entities"][0]["appliedCourse"]
    assert seen["id"] == str(course.id) and seen["status"] == "DRAFT"
    modules = seen["modules"]["nodes"]
    assert [m["title"] for m in modules] == ["Basics"] + [
        f"Week {m['week']}: {m['title']}" for m in syllabus["modules"]
    ]
    for generated, module in zip(syllabus["modules"], modules[1:], strict=True):
        assert [lesson["title"] for lesson in module["lessons"]["nodes"]] == generated["topics"]
        assert module["lessons"]["nodes"][0]["body"].startswith(f"# {generated['topics'][0]}")
    events = await courses.events(course_id=str(course.id))
    assert sum(e["type"] == "courses.module.created" for e in events) == 1 + len(syllabus["modules"])
    assert events[-1]["actor_id"] == school.instructor.id
    # Students see nothing of a draft course, the job's course included.
    body = await courses_gql(
        APPLIED_COURSE,
        {"r": [{"__typename": "GenerationJob", "id": str(job_id)}]},
        token=school.student.token,
    )
    assert body["data"]["_entities"][0]["appliedCourse"] is None


async def test_a_syllabus_without_a_course_creates_a_draft_course(
    courses,
    courses_runtime,
    courses_gql,
    generation,
):
    school = await courses.school()
    title = f"Applied Graph Theory {uuid.uuid4().hex[:6]}"
    made = []
    for _ in range(2):  # the same title twice: the second course gets the next free slug
        job_id, event = await generation.applied(school.instructor, Kind.SYLLABUS, school.org, title=title)
        made.append(
            await deliver(
                courses_runtime,
                consumer(courses_runtime),
                lambda job_id=job_id: applied_course(courses_runtime, job_id),
            )
        )
    async with courses_runtime.transaction() as session:
        first, second = [await session.get(Course, c) for c in made]
    syllabus = event["payload"]["result"]
    assert first.title == syllabus["title"] and first.status == "DRAFT"
    assert str(first.organization_id) == school.org and str(first.instructor_id) == school.instructor.id
    assert first.slug == slug_base(syllabus["title"]) and second.slug == f"{first.slug}-2"
    assert syllabus["overview"] in first.description
    assert await count(courses_runtime, Module, course_id=first.id) == len(syllabus["modules"])
    body = await courses_gql(
        APPLIED_COURSE,
        {"r": [{"__typename": "GenerationJob", "id": str(job_id)}]},
        token=school.instructor.token,
    )
    assert body["data"]["_entities"][0]["appliedCourse"]["id"] == str(second.id)
    created = [
        e for e in await courses.events(course_id=str(first.id)) if e["type"] == "courses.course.created"
    ]
    assert len(created) == 1 and created[0]["payload"]["status"] == "DRAFT"


async def test_slides_become_a_lesson_and_exercises_exercises(
    courses,
    courses_runtime,
    generation,
):
    school = await courses.school()
    course = await courses.course(school, publish=False, lessons=1)
    async with courses_runtime.transaction() as session:
        module = await session.scalar(select(Module).where(Module.course_id == course.id))
    slides_job, slides = await generation.applied(
        school.instructor, Kind.SLIDES, school.org, course_id=course.id, module_id=module.id
    )
    exercises_job, exercises = await generation.applied(
        school.instructor, Kind.EXERCISES, school.org, course_id=course.id, module_id=module.id
    )
    for job_id in (slides_job, exercises_job):
        assert await deliver(
            courses_runtime, consumer(courses_runtime), lambda j=job_id: applied_course(courses_runtime, j)
        )
    async with courses_runtime.transaction() as session:
        lessons = (
            await session.scalars(
                select(Lesson).where(Lesson.module_id == module.id).order_by(Lesson.position)
            )
        ).all()
        made = (
            await session.scalars(
                select(Exercise).where(Exercise.course_id == course.id).order_by(Exercise.created_at)
            )
        ).all()
    deck = slides["payload"]["result"]
    assert [x.title for x in lessons] == ["Lesson 1", deck["title"]]
    assert lessons[1].body.startswith(f"# {deck['title']}") and lessons[1].body.count("\n---\n") == len(
        deck["slides"]
    )
    assert all(f"## {s['title']}" in lessons[1].body for s in deck["slides"])
    generated = exercises["payload"]["result"]["exercises"]
    assert [e.title for e in made] == [g["title"] for g in generated]
    assert made[0].tests == [{"path": "test_main.py", "content": generated[0]["tests"]}]
    assert made[0].instructions == generated[0]["instructions"] and made[0].language == "python"


async def test_what_a_result_creates_is_published_and_stamped_before_the_consumer_goes_on(
    courses,
    courses_runtime,
    generation,
):
    """Like a request's transaction, the consumer's publishes its events once it committed, without
    waiting for the relay: until then the router's response cache could serve an answer from before it
    (the job's `appliedCourse` null while the course already showed the new modules)."""
    school = await courses.school()
    course = await courses.course(school, publish=False, lessons=0)
    _, event = await generation.applied(school.instructor, Kind.SYLLABUS, school.org, course_id=course.id)
    before = int(await courses_runtime.redis.get(CACHE_SEQUENCE_KEY) or 0)
    applied = await apply_generated_content(
        courses_runtime.sessionmaker, courses_runtime.redis, Event.model_validate(event)
    )
    assert applied == course.id
    async with courses_runtime.transaction() as session:
        published = (
            await session.execute(
                select(Outbox.type, Outbox.published_at.is_not(None)).where(
                    Outbox.event["subject_ids"]["course_id"].astext == str(course.id),
                    Outbox.type == "courses.module.created",
                )
            )
        ).all()
    assert len(published) == len(event["payload"]["result"]["modules"])
    assert all(is_published for _, is_published in published), published
    stamps = await courses_runtime.redis.mget(
        [CACHE_STAMP_PREFIX + str(course.id), CACHE_STAMP_PREFIX + school.instructor.id]
    )
    assert all(stamp is not None and int(stamp) > before for stamp in stamps), stamps


async def test_applying_twice_creates_nothing_twice(
    courses,
    courses_runtime,
    generation,
):
    school = await courses.school()
    course = await courses.course(school, publish=False, lessons=0)
    job_id, event = await generation.applied(
        school.instructor, Kind.SYLLABUS, school.org, course_id=course.id
    )
    assert await deliver(
        courses_runtime, consumer(courses_runtime), lambda: applied_course(courses_runtime, job_id)
    )
    modules = await count(courses_runtime, Module, course_id=course.id)
    outbox = await count(courses_runtime, Outbox)
    assert modules == len(event["payload"]["result"]["modules"])
    # The same job announced again (a new event id) through the streams, and the same event redelivered.
    await generation.emit_again(event)
    await drain(courses_runtime, consumer(courses_runtime))
    assert (
        await apply_generated_content(
            courses_runtime.sessionmaker, courses_runtime.redis, Event.model_validate(event)
        )
        is None
    )
    again = Event.model_validate({**event, "id": str(uuid.uuid4())})
    assert await apply_generated_content(courses_runtime.sessionmaker, courses_runtime.redis, again) is None
    assert await count(courses_runtime, Module, course_id=course.id) == modules
    assert await count(courses_runtime, Outbox) == outbox


async def test_another_organizations_event_is_ignored_with_a_warning(
    courses,
    courses_runtime,
    generation,
    caplog,  # noqa: F811
):
    victim, attacker = await courses.school(), await courses.school()
    course = await courses.course(victim, publish=False, lessons=0)
    # The attacker's own job, its event pointed at the victim's course.
    _, event = await generation.applied(attacker.instructor, Kind.SYLLABUS, attacker.org)
    forged_job = str(uuid.uuid4())
    forged = await generation.emit_again(
        event,
        subject_ids={"job_id": forged_job, "course_id": str(course.id)},
        payload={**event["payload"], "course_id": str(course.id)},
    )
    with caplog.at_level(logging.WARNING, logger="coursegraph.courses"):
        await drain(courses_runtime, consumer(courses_runtime))
        assert (
            await apply_generated_content(
                courses_runtime.sessionmaker,
                courses_runtime.redis,
                forged.model_copy(update={"id": uuid.uuid4()}),
            )
            is None
        )
    assert await count(courses_runtime, Module, course_id=course.id) == 0
    assert await applied_course(courses_runtime, uuid.UUID(forged_job)) is None
    assert any(forged_job in r.getMessage() and "ignored" in r.getMessage() for r in caplog.records)
    # An archived course takes nothing either (read-only), even from its own organization.
    await archive_course(courses_runtime, victim.instructor.meta, id=course.id)
    job_id, _ = await generation.applied(victim.instructor, Kind.SYLLABUS, victim.org, course_id=course.id)
    await drain(courses_runtime, consumer(courses_runtime))
    assert await count(courses_runtime, Module, course_id=course.id) == 0
