"""Common Cartridge import end to end through the real router and workers: an instructor builds a course
(modules, lessons with Markdown, a lesson file, an exercise, a quiz), exports it as a Common Cartridge,
uploads the cartridge and imports it: the new DRAFT course (created by the courses worker, its quizzes by
the quizzes worker, its files by the content worker, all from `content.import.ready`) has the same structure
and text. A zip that tries to leave its folder fails the import with UNSAFE_ARCHIVE; a student may not
import; the job is polled with importJob."""

from __future__ import annotations

import hashlib
import io
import time
import zipfile

import pytest

from tests.e2e.test_content_through_router import EXPORT, EXPORT_JOB, local
from tests.e2e.test_courses_through_router import (
    CREATE_COURSE,
    CREATE_EXERCISE,
    CREATE_LESSON,
    CREATE_MODULE,
    CREATE_QUESTION,
    CREATE_QUIZ,
    member,
    until,
)
from tests.e2e.test_organizations_through_router import CREATE, verified_user
from tests.subgraphs.content.helpers import COMPLETE_UPLOAD, PDF, REQUEST_UPLOAD

pytestmark = pytest.mark.e2e

IMPORT = """mutation($input: ImportCourseInput!) { importCourse(input: $input) { __typename
  ... on ImportJobSuccess { job { id status course { id } } }
  ... on ValidationError { fieldErrors { field message } } ... on Error { code message } } }"""
IMPORT_JOB = """query($id: ID!) { importJob(id: $id) { id status progress error errorCode
  course { id } source { id } } }"""
COURSE = """query($id: ID!) { course(id: $id) { id title description status instructor { id }
  modules { nodes { title lessons { nodes { title body attachments { nodes { name mimeType size } } } } } }
  exercises { nodes { title instructions language } }
  quizzes { nodes { title passingScore status questions { nodes { type prompt options points
    correctAnswer { choices boolean acceptedAnswers number tolerance } } } } } } }"""

BODY_ONE = "# Graphs\n\nA graph has **nodes** and edges.\n\n- one\n- two\n\n![diagram](notes.pdf)\n"
BODY_TWO = "Trees are graphs without cycles.\n\n```python\nprint('tree')\n```\n"


def shape(course: dict) -> dict:
    """What must survive the round trip."""
    return {
        "title": course["title"],
        "modules": [
            (
                m["title"],
                [
                    (le["title"], le["body"].strip(), [a["name"] for a in le["attachments"]["nodes"]])
                    for le in m["lessons"]["nodes"]
                ],
            )
            for m in course["modules"]["nodes"]
        ],
        "exercises": [(e["title"], e["instructions"], e["language"]) for e in course["exercises"]["nodes"]],
        "quizzes": [
            (
                q["title"],
                q["passingScore"],
                [
                    (x["type"], x["prompt"], x["options"], x["points"], x["correctAnswer"])
                    for x in q["questions"]["nodes"]
                ],
            )
            for q in course["quizzes"]["nodes"]
        ],
    }


async def test_export_then_import_keeps_the_course_through_router(router_gql, router_http, unique_email):
    admin = await verified_user(router_gql, unique_email("e2e-import"), "Ida Importer")
    created = await router_gql(
        CREATE,
        {"input": {"name": "Import Academy", "slug": f"ia-{int(time.time() * 1000)}"}},
        token=admin["accessToken"],
    )
    org = created["data"]["createOrganization"]["organization"]["id"]
    teacher = await member(router_gql, unique_email, admin["accessToken"], org, "INSTRUCTOR", "Ivo Teacher")
    student = await member(router_gql, unique_email, admin["accessToken"], org, "STUDENT", "Ina Student")
    t, s = teacher["accessToken"], student["accessToken"]

    async def run(document: str, field: str, token: str, **input_: object) -> dict:
        body = await router_gql(document, {"input": input_}, token=token)
        assert "errors" not in body, body
        return body["data"][field]

    course = (
        await run(CREATE_COURSE, "createCourse", t, organizationId=org, title="Graph Theory", slug="graphs")
    )["course"]
    one = (await run(CREATE_MODULE, "createModule", t, courseId=course["id"], title="Basics"))["module"]
    two = (await run(CREATE_MODULE, "createModule", t, courseId=course["id"], title="Trees"))["module"]
    lesson = (await run(CREATE_LESSON, "createLesson", t, moduleId=one["id"], title="Nodes", body=BODY_ONE))[
        "lesson"
    ]
    await run(CREATE_LESSON, "createLesson", t, moduleId=two["id"], title="Cycles", body=BODY_TWO)
    await run(
        CREATE_EXERCISE,
        "createExercise",
        t,
        courseId=course["id"],
        title="Count nodes",
        instructions="Count the nodes.",
        language="python",
    )
    quiz = (
        await until(
            lambda: run(CREATE_QUIZ, "createQuiz", t, courseId=course["id"], title="Check", passingScore=70),
            lambda a: a["__typename"] == "QuizSuccess",
        )
    )["quiz"]
    for question in (
        {
            "type": "SINGLE_CHOICE",
            "prompt": "A node is a...",
            "options": ["vertex", "edge"],
            "correctChoices": [0],
            "points": 3,
        },
        {"type": "TRUE_FALSE", "prompt": "Trees have cycles.", "correctBoolean": False},
        {"type": "SHORT_ANSWER", "prompt": "Another word for node?", "acceptedAnswers": ["vertex"]},
        {"type": "NUMERIC", "prompt": "Edges of K3?", "correctNumber": 3, "tolerance": 0.5},
    ):
        await run(CREATE_QUESTION, "createQuestion", t, quizId=quiz["id"], question=question)

    async def attach(data: bytes, name: str) -> dict:
        announce = {
            "name": name,
            "size": len(data),
            "checksum": hashlib.sha256(data).hexdigest(),
            "courseId": course["id"],
            "lessonId": lesson["id"] if name == "notes.pdf" else None,
        }
        ticket = await until(
            lambda: run(REQUEST_UPLOAD, "requestUpload", t, **announce),
            lambda a: a["__typename"] == "UploadTicket",
        )
        assert (await router_http.put(local(ticket["url"]), content=data)).status_code == 200
        done = await run(COMPLETE_UPLOAD, "completeUpload", t, uploadId=ticket["uploadId"])
        assert done["__typename"] == "ContentItemSuccess", done
        return done["item"]

    await attach(PDF, "notes.pdf")
    original = (await router_gql(COURSE, {"id": course["id"]}, token=t))["data"]["course"]
    expected = shape(original)
    assert [len(q[2]) for q in expected["quizzes"]] == [4] and len(expected["exercises"]) == 1
    assert expected["modules"][0][1][0][2] == ["notes.pdf"]

    # Export as a Common Cartridge, download it, upload it again and import it.
    job = await until(
        lambda: run(EXPORT, "exportCourse", t, courseId=course["id"], format="COMMON_CARTRIDGE"),
        lambda a: a["__typename"] == "ExportJobSuccess",
    )
    exported = await until(
        lambda: router_gql(EXPORT_JOB, {"id": job["job"]["id"]}, token=t),
        lambda a: a["data"]["exportJob"]["status"] in ("SUCCEEDED", "FAILED"),
        timeout=120,
    )
    assert exported["data"]["exportJob"]["status"] == "SUCCEEDED", exported
    cartridge = (
        await router_http.get(local(exported["data"]["exportJob"]["resultVersion"]["downloadUrl"]))
    ).content
    source = await attach(cartridge, "graphs.imscc")

    assert (await run(IMPORT, "importCourse", s, contentItemId=source["id"]))[
        "__typename"
    ] == "ForbiddenError"
    not_a_cartridge = await run(
        IMPORT, "importCourse", t, contentItemId=(await attach(PDF + b"x", "x.pdf"))["id"]
    )
    assert not_a_cartridge["fieldErrors"][0]["field"] == "input.contentItemId"

    started = await run(IMPORT, "importCourse", t, contentItemId=source["id"])
    assert started["__typename"] == "ImportJobSuccess", started
    polled = await until(
        lambda: router_gql(IMPORT_JOB, {"id": started["job"]["id"]}, token=t),
        lambda a: a["data"]["importJob"]["status"] in ("SUCCEEDED", "FAILED"),
        timeout=150,
    )
    finished = polled["data"]["importJob"]
    assert finished["status"] == "SUCCEEDED", finished
    assert (
        finished["source"]["id"] == source["id"]
        and finished["course"]["id"] == started["job"]["course"]["id"]
    )

    imported = (await router_gql(COURSE, {"id": finished["course"]["id"]}, token=t))["data"]["course"]
    assert imported["status"] == "DRAFT" and imported["instructor"]["id"] == teacher["user"]["id"]
    assert shape(imported) == expected
    assert [q["status"] for q in imported["quizzes"]["nodes"]] == ["DRAFT"]
    files = imported["modules"]["nodes"][0]["lessons"]["nodes"][0]["attachments"]["nodes"]
    assert files == [{"name": "notes.pdf", "mimeType": "application/pdf", "size": len(PDF)}]

    # A zip whose entry leaves its folder: the job fails with a typed code, nothing is created.
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("imsmanifest.xml", "<manifest/>")
        archive.writestr("../../etc/evil.sh", "#!/bin/sh\necho owned\n")
    bad = await run(
        IMPORT, "importCourse", t, contentItemId=(await attach(evil.getvalue(), "evil.imscc"))["id"]
    )
    refused = await until(
        lambda: router_gql(IMPORT_JOB, {"id": bad["job"]["id"]}, token=t),
        lambda a: a["data"]["importJob"]["status"] in ("SUCCEEDED", "FAILED"),
        timeout=60,
    )
    assert refused["data"]["importJob"]["status"] == "FAILED"
    assert refused["data"]["importJob"]["errorCode"] == "UNSAFE_ARCHIVE", refused
    assert (await router_gql(COURSE, {"id": bad["job"]["course"]["id"]}, token=t))["data"]["course"] is None
