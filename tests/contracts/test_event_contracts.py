"""Event contracts (subgraphs/contracts): what the producers emit parses into the registered model and goes
back to the same JSON.

`recorded_events.json` holds payloads recorded from the outbox writes of real test runs of the services as
they were before payloads were typed (tests/contracts/record_events.py): every registered contract must
parse them and give back the same JSON, so the wire format did not move. The producers that the recorded
runs did not reach are driven here through their real service functions.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from subgraphs.content import exporting
from subgraphs.content.exports.document import CourseDocument, Lesson, Module
from subgraphs.content.models import Outbox as ContentOutbox
from subgraphs.contracts import REGISTRY, EventPayload, UnknownEvent, contract_of, parse
from subgraphs.contracts.base import WILDCARD
from subgraphs.contracts.courses import CourseUpdated, ExerciseCreated
from subgraphs.contracts.vocabulary import LabIde, OrganizationSettings
from subgraphs.core.context import WorkerRuntime
from subgraphs.core.events import Event
from subgraphs.core.live import LiveHub
from subgraphs.courses.content import create_lesson, create_module, publish_lesson, publish_module
from subgraphs.quizzes import authoring as quiz_authoring
from subgraphs.quizzes.models import Outbox as QuizzesOutbox
from tests.subgraphs.content.conftest import (  # noqa: F401 - fixtures
    content_app,
    content_gql,
    content_http,
    content_runtime,
    school,
)
from tests.subgraphs.courses.conftest import (  # noqa: F401 - fixtures
    courses,
    courses_app,
    courses_runtime,
    gen_runtime,
    generation,
    generator_app,
    worker_runtime,
)
from tests.subgraphs.organizations.conftest import minter, organizations_app  # noqa: F401 - fixtures
from tests.subgraphs.quizzes.conftest import projector, quizzes_app, quizzes_runtime  # noqa: F401
from tests.subgraphs.quizzes.factories import QUESTIONS, classroom

CONTENT_TYPES = {t for t, _ in REGISTRY if t.startswith("content.")}
RECORDED: list[dict[str, Any]] = orjson.loads((Path(__file__).parent / "recorded_events.json").read_bytes())
# Emitted only by code paths the recorded runs did not reach: driven below instead.
DRIVEN = {
    "courses.module.published",
    "courses.module.unpublished",
    "courses.lesson.published",
    "courses.lesson.unpublished",
    "quizzes.quiz.updated",
    "quizzes.question.updated",
    "quizzes.question.deleted",
    "organizations.invitation.cancelled",
    # The content domain's types were typed from the start: driven below, every one of them, and the
    # courses and quizzes events that answer its imports.
    *CONTENT_TYPES,
    "courses.import.applied",
    "quizzes.import.applied",
}


def _matches(contract_type: str, event_type: str) -> bool:
    if contract_type.startswith(WILDCARD + "."):
        return event_type.endswith(contract_type[1:])
    return contract_type == event_type


def _round_trip(event_type: str, payload: dict[str, Any], version: int = 1) -> EventPayload:
    parsed = parse(Event(type=event_type, version=version, payload=payload))
    assert isinstance(parsed, contract_of(event_type, version))
    assert orjson.dumps(parsed.wire(), option=orjson.OPT_SORT_KEYS) == orjson.dumps(
        payload, option=orjson.OPT_SORT_KEYS
    ), f"{event_type}: the contract does not give back the JSON the producer wrote"
    return parsed


def test_every_contract_has_a_recorded_or_driven_payload():
    recorded = {e["type"] for e in RECORDED} | DRIVEN
    missing = [t for t, _ in REGISTRY if not any(_matches(t, r) for r in recorded)]
    assert not missing, f"no recorded payload for {missing}: record them (tests/contracts/record_events.py)"


def test_every_recorded_type_has_a_contract():
    assert [e["type"] for e in RECORDED if not any(_matches(t, e["type"]) for t, _ in REGISTRY)] == []


@pytest.mark.parametrize("recorded", RECORDED, ids=[f"{e['type']}-{i}" for i, e in enumerate(RECORDED)])
def test_a_recorded_payload_parses_and_round_trips(recorded):
    _round_trip(recorded["type"], recorded["payload"], recorded["version"])


def test_a_payload_that_breaks_its_contract_is_refused():
    with pytest.raises(ValidationError) as info:
        parse(Event(type=ExerciseCreated.TYPE, payload={"exercise_id": "not an id"}))
    assert {e["loc"][0] for e in info.value.errors()} >= {"exercise_id", "course_id", "organization_id"}
    with pytest.raises(UnknownEvent):
        parse(Event(type="courses.course.teleported", payload={}))
    with pytest.raises(UnknownEvent):
        parse(Event(type=CourseUpdated.TYPE, version=2, payload={}))


def test_a_producer_cannot_add_a_field_and_a_reader_ignores_a_newer_one():
    ids = {"course_id": uuid.uuid4(), "organization_id": uuid.uuid4(), "instructor_id": uuid.uuid4()}
    with pytest.raises(ValidationError):
        CourseUpdated(**ids, status="DRAFT", title="Graphs", colour="blue")  # type: ignore[call-arg]  # the point
    newer = {**{k: str(v) for k, v in ids.items()}, "status": "DRAFT", "title": "Graphs", "colour": "blue"}
    parsed = parse(Event(type=CourseUpdated.TYPE, payload=newer))
    assert isinstance(parsed, CourseUpdated) and "colour" not in parsed.wire()


def test_payloads_are_frozen_and_only_set_fields_travel():
    payload = CourseUpdated(
        course_id=uuid.uuid4(),
        organization_id=uuid.uuid4(),
        instructor_id=uuid.uuid4(),
        status="DRAFT",
        title="Graphs",
    )
    with pytest.raises(ValidationError):
        payload.title = "Trees"  # type: ignore[misc]  # frozen: the assignment is the point
    assert "changed" not in payload.wire()
    assert payload.event_type() == "courses.course.updated"


def test_organization_settings_have_one_set_of_defaults_and_bounds():
    assert OrganizationSettings.of(None) == OrganizationSettings()
    assert OrganizationSettings.of({"lab_cpus": None, "lab_memory_mb": 512}).lab_memory_mb == 512
    with pytest.raises(ValidationError):
        OrganizationSettings.of({"lab_idle_timeout_seconds": 1})
    with pytest.raises(ValidationError):
        OrganizationSettings.of({"lab_idle_timout_seconds": 60})  # misspelt: named, not ignored
    assert [ide.value for ide in LabIde] == ["VSCODE", "JUPYTER", "TERMINAL"]


async def test_module_and_lesson_publication_events_fit_their_contracts(courses):  # noqa: F811
    school = await courses.school()  # noqa: F811 - not the content fixture of that name
    course = await courses.course(school, publish=False, lessons=1)
    meta = school.instructor.meta
    module = await create_module(courses.runtime, meta, course_id=course.id, title="More")
    lesson = await create_lesson(courses.runtime, meta, module_id=module.id, title="One", body="# One")
    for published in (True, False):
        await publish_module(courses.runtime, meta, id=module.id, published=published)
        await publish_lesson(courses.runtime, meta, id=lesson.id, published=published)
    emitted = await courses.events(course_id=str(course.id))
    types = {e["type"] for e in emitted}
    assert {t for t in DRIVEN if t.startswith("courses.") and ".import." not in t} <= types
    for event in emitted:
        _round_trip(event["type"], event["payload"])


async def test_quiz_and_question_changes_fit_their_contracts(courses, projector, quizzes_runtime):  # noqa: F811
    room = await classroom(courses, projector, quizzes_runtime)
    meta = room.school.instructor.meta
    await quiz_authoring.update_quiz(quizzes_runtime, meta, id=room.quiz_id, title="Checkpoint 2")
    await quiz_authoring.update_question(quizzes_runtime, meta, id=room.question_ids[0], spec=QUESTIONS[1])
    await quiz_authoring.delete_question(quizzes_runtime, meta, id=room.question_ids[1])
    async with quizzes_runtime.transaction() as session:
        rows = (await session.scalars(select(QuizzesOutbox.event).order_by(QuizzesOutbox.position))).all()
    emitted = [e for e in rows if e["subject_ids"].get("quiz_id") == str(room.quiz_id)]
    assert {t for t in DRIVEN if t.startswith("quizzes.") and ".import." not in t} <= {
        e["type"] for e in emitted
    }
    for event in emitted:
        _round_trip(event["type"], event["payload"])


async def test_content_events_fit_their_contracts(
    content_gql,  # noqa: F811
    content_http,  # noqa: F811
    content_runtime,  # noqa: F811
    school,  # noqa: F811
    settings,  # noqa: F811
):
    from tests.subgraphs.content.helpers import CANCEL, DELETE, EXPORT, PDF, RESTORE, local, upload

    token = school.instructor.token
    first = await upload(content_gql, content_http, token, PDF, course=school.course, lesson=school.lesson)
    item = first["item"]
    second = await upload(content_gql, content_http, token, PDF + b"2", item=item["id"])
    assert second["__typename"] == "ContentItemSuccess", second
    restore = {"itemId": item["id"], "versionId": item["currentVersion"]["id"]}
    assert (await content_gql(RESTORE, {"input": restore}, token=token))["data"]["restoreContentVersion"][
        "__typename"
    ] == "ContentItemSuccess"
    assert (await content_http.get(local(item["downloadUrl"]))).status_code == 200
    assert (await content_gql(DELETE, {"input": {"itemId": item["id"]}}, token=token))["data"][
        "deleteContentItem"
    ]["__typename"] == "DeleteContentItemSuccess"

    worker = WorkerRuntime(
        settings, content_runtime.sessionmaker, content_runtime.redis, LiveHub(content_runtime.redis)
    )

    async def export() -> uuid.UUID:
        job = await content_gql(EXPORT, {"input": {"courseId": school.course, "format": "PDF"}}, token=token)
        return uuid.UUID(job["data"]["exportCourse"]["job"]["id"])

    async def one_lesson(runtime, job):
        return CourseDocument(title="Typed", modules=(Module(title="M", lessons=(Lesson(title="L"),)),))

    async def unreadable(runtime, job):
        raise exporting.CourseUnreadable("The course could not be read: refused")

    assert await exporting.run_job(worker, await export(), reader=one_lesson) == exporting.JobStatus.SUCCEEDED
    assert await exporting.run_job(worker, await export(), reader=unreadable) == exporting.JobStatus.FAILED
    cancelled = await export()
    await content_gql(CANCEL, {"input": {"jobId": str(cancelled)}}, token=token)
    requeued = await export()
    assert await exporting.claim(worker, requeued) is not None
    async with content_runtime.transaction() as session:
        (await session.get(exporting.ExportJob, requeued)).lease_expires_at = exporting.utcnow()
    assert requeued in await exporting.requeue_expired(worker)

    async with content_runtime.transaction() as session:
        rows = (await session.scalars(select(ContentOutbox.event).order_by(ContentOutbox.position))).all()
    emitted = [e for e in rows if e["subject_ids"].get("course_id") == school.course]
    assert {t for t in CONTENT_TYPES if ".import." not in t} <= {e["type"] for e in emitted}
    assert any(e["payload"].get("requeued") for e in emitted)
    for event in emitted:
        _round_trip(event["type"], event["payload"])


async def test_an_import_and_its_answers_fit_their_contracts(
    content_gql,  # noqa: F811
    content_http,  # noqa: F811
    content_runtime,  # noqa: F811
    school,  # noqa: F811
    settings,
    courses_runtime,  # noqa: F811
    quizzes_runtime,  # noqa: F811
    projector,  # noqa: F811
):
    """content.import.requested -> ready (content worker) -> courses.import.applied (courses) ->
    quizzes.import.applied (quizzes) -> content.import.succeeded; and an unsafe zip -> content.import.failed.
    Every payload round-trips, and the course and quizzes are created once however often the event comes."""
    import io
    import zipfile

    from subgraphs.content import exports, importing
    from subgraphs.content.exports.document import Attachment, ExportFormat, Question, Quiz
    from subgraphs.courses import imported as courses_imported
    from subgraphs.courses.models import Course
    from subgraphs.courses.models import Lesson as CourseLesson
    from subgraphs.courses.models import Outbox as CoursesOutbox
    from subgraphs.quizzes import imported as quizzes_imported
    from subgraphs.quizzes.models import Question as QuizQuestion
    from tests.subgraphs.content.helpers import PDF, upload

    doc = CourseDocument(
        title="Imported",
        modules=(
            Module(
                title="M1",
                lessons=(
                    Lesson(
                        title="L1",
                        body_markdown="# One",
                        attachments=(Attachment("a.pdf", "application/pdf", PDF),),
                    ),
                ),
            ),
        ),
        quizzes=(
            Quiz(
                title="Q",
                questions=(
                    Question(type="SINGLE_CHOICE", prompt="Pick", options=("a", "b"), correct=(1,)),
                    Question(type="NUMERIC", prompt="Two?", correct=(2, 0.5)),
                ),
            ),
        ),
    )
    token = school.instructor.token
    cartridge = exports.render(ExportFormat.COMMON_CARTRIDGE, doc)
    source = await upload(content_gql, content_http, token, cartridge, name="c.imscc", course=school.course)
    assert source["__typename"] == "ContentItemSuccess", source
    worker = WorkerRuntime(
        settings, content_runtime.sessionmaker, content_runtime.redis, LiveHub(content_runtime.redis)
    )
    job = await importing.submit(
        content_runtime, school.instructor.meta, item_id=uuid.UUID(source["item"]["id"])
    )
    assert await importing.run_job(worker, job.id) == importing.ImportStatus.RUNNING

    async def content_events() -> list[dict[str, Any]]:
        async with content_runtime.transaction() as session:
            rows = (await session.scalars(select(ContentOutbox.event).order_by(ContentOutbox.position))).all()
        return [e for e in rows if e["subject_ids"].get("import_id") == str(job.id)]

    ready = Event.model_validate(
        next(e for e in await content_events() if e["type"] == "content.import.ready")
    )
    assert ready.payload["sensitive"] is True  # the audit log keeps nothing of a whole course
    assert (
        await courses_imported.apply_import(courses_runtime.sessionmaker, courses_runtime.redis, ready)
        == job.course_id
    )
    assert (
        await courses_imported.apply_import(
            courses_runtime.sessionmaker,
            courses_runtime.redis,
            ready.model_copy(update={"id": str(uuid.uuid4())}),
        )
        is None
    )
    await projector.sync(courses={job.course_id: "DRAFT"})
    made = await quizzes_imported.apply_import(quizzes_runtime.sessionmaker, quizzes_runtime.redis, ready)
    assert made is not None and [q.title for q in made] == ["Q"]
    async with courses_runtime.transaction() as session:
        course = await session.get(Course, job.course_id)
        lessons = (
            await session.scalars(select(CourseLesson).where(CourseLesson.course_id == job.course_id))
        ).all()
        answers = (await session.scalars(select(CoursesOutbox.event).order_by(CoursesOutbox.position))).all()
    assert course.status == "DRAFT" and [(le.title, le.body) for le in lessons] == [("L1", "# One")]
    async with quizzes_runtime.transaction() as session:
        questions = (
            await session.scalars(select(QuizQuestion).where(QuizQuestion.quiz_id == made[0].id))
        ).all()
        answers += (await session.scalars(select(QuizzesOutbox.event).order_by(QuizzesOutbox.position))).all()
    assert sorted((q.type, q.correct) for q in questions) == [("NUMERIC", [2.0, 0.5]), ("SINGLE_CHOICE", [1])]
    applied = [
        e
        for e in answers
        if e["type"].endswith(".import.applied") and e["payload"]["import_id"] == str(job.id)
    ]
    assert sorted(e["type"] for e in applied) == ["courses.import.applied", "quizzes.import.applied"]
    for event in applied:
        async with content_runtime.transaction() as session:
            assert await importing.record_applied(session, Event.model_validate(event))
        _round_trip(event["type"], event["payload"])
    async with content_runtime.transaction() as session:
        assert (await session.get(importing.ImportJob, job.id)).status == "SUCCEEDED"

    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../escape.txt", "x")
    bad_item = await upload(
        content_gql, content_http, token, evil.getvalue(), name="e.imscc", course=school.course
    )
    bad = await importing.submit(
        content_runtime, school.instructor.meta, item_id=uuid.UUID(bad_item["item"]["id"])
    )
    assert await importing.run_job(worker, bad.id) == importing.ImportStatus.FAILED
    async with content_runtime.transaction() as session:
        assert (await session.get(importing.ImportJob, bad.id)).error_code == "UNSAFE_ARCHIVE"
        rows = (await session.scalars(select(ContentOutbox.event).order_by(ContentOutbox.position))).all()
    emitted = [e for e in rows if e["subject_ids"].get("import_id") in (str(job.id), str(bad.id))]
    assert {t for t in CONTENT_TYPES if ".import." in t} <= {e["type"] for e in emitted}
    for event in emitted:
        _round_trip(event["type"], event["payload"])


async def test_an_invitation_cancellation_fits_its_contract(minter):  # noqa: F811
    from subgraphs.organizations import invitations as org_invitations
    from subgraphs.organizations import roles as org_roles
    from subgraphs.organizations.models import Outbox as OrganizationsOutbox

    admin = await minter.user("student")
    org = await minter.organization(admin, name="Invites")
    invitation = await org_invitations.invite_member(
        minter.runtime,
        admin.meta,
        organization_id=uuid.UUID(org),
        email=f"c-{uuid.uuid4().hex[:8]}@e.dev",
        role=org_roles.MembershipRole.STUDENT,
    )
    await org_invitations.cancel_invitation(minter.runtime, admin.meta, invitation_id=invitation.id)
    async with minter.runtime.transaction() as session:
        rows = (
            await session.scalars(
                select(OrganizationsOutbox.event).where(
                    OrganizationsOutbox.type == "organizations.invitation.cancelled"
                )
            )
        ).all()
    mine = [e for e in rows if e["organization_id"] == org]
    assert len(mine) == 1
    _round_trip(mine[0]["type"], mine[0]["payload"])
