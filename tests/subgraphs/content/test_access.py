"""Permissions (RBAC map, tenant isolation incl. `_entities`) and the signed URLs' guarantees."""

from __future__ import annotations

import urllib.parse

from subgraphs.content import service, signing
from tests.subgraphs.content.helpers import (
    DELETE,
    ENTITIES,
    ITEM,
    PDF,
    REQUEST_UPLOAD,
    local,
    upload,
)


async def _attached(content_gql, content_http, school, course=None) -> dict:
    result = await upload(
        content_gql,
        content_http,
        school.instructor.token,
        PDF,
        course=course or school.course,
        lesson=None if course else school.lesson,
    )
    assert result["__typename"] == "ContentItemSuccess", result
    return result["item"]


def _with(url: str, **changes: str) -> str:
    parts = urllib.parse.urlsplit(local(url))
    query = dict(urllib.parse.parse_qsl(parts.query))
    query.update(changes)
    return f"{parts.path}?{urllib.parse.urlencode(query)}"


async def test_students_and_outsiders_cannot_upload(content_gql, school):
    variables = {"input": {"name": "a.pdf", "size": 10, "checksum": "a" * 64, "courseId": school.course}}
    for caller in (school.student, school.outsider):
        result = (await content_gql(REQUEST_UPLOAD, variables, token=caller.token))["data"]["requestUpload"]
        assert result["__typename"] == "ForbiddenError", result


async def test_who_sees_an_attachment(content_gql, content_http, school):
    item = await _attached(content_gql, content_http, school)
    for caller, visible in (
        (school.instructor, True),
        (school.admin, True),
        (school.student, True),  # a member, and the course is published
        (school.site_admin, True),
        (school.outsider, False),
    ):
        seen = (await content_gql(ITEM, {"id": item["id"]}, token=caller.token))["data"]["contentItem"]
        assert (seen is not None) is visible, caller
    anonymous = await content_gql(ITEM, {"id": item["id"]})
    assert anonymous["data"] is None or anonymous["data"]["contentItem"] is None


async def test_draft_course_files_only_for_its_managers(content_gql, content_http, school):
    item = await _attached(content_gql, content_http, school, course=school.draft_course)
    assert (await content_gql(ITEM, {"id": item["id"]}, token=school.student.token))["data"][
        "contentItem"
    ] is None
    assert (await content_gql(ITEM, {"id": item["id"]}, token=school.instructor.token))["data"]["contentItem"]


async def test_entities_apply_the_same_rules(content_gql, content_http, school):
    item = await _attached(content_gql, content_http, school)
    reps = [
        {"__typename": "ContentItem", "id": item["id"]},
        {"__typename": "Course", "id": school.course},
        {"__typename": "Lesson", "id": school.lesson},
    ]
    mine = (await content_gql(ENTITIES, {"representations": reps}, token=school.student.token))["data"]
    assert mine["_entities"][0]["id"] == item["id"]
    assert item["id"] in [n["id"] for n in mine["_entities"][1]["contentItems"]["nodes"]]
    assert [n["id"] for n in mine["_entities"][2]["attachments"]["nodes"]] == [item["id"]]
    theirs = (await content_gql(ENTITIES, {"representations": reps}, token=school.outsider.token))["data"]
    assert theirs["_entities"][0] is None
    assert theirs["_entities"][1]["contentItems"]["nodes"] == []
    assert theirs["_entities"][2]["attachments"]["nodes"] == []


async def test_outsiders_cannot_change_anything(content_gql, content_http, school):
    item = await _attached(content_gql, content_http, school)
    result = await content_gql(DELETE, {"input": {"itemId": item["id"]}}, token=school.outsider.token)
    assert result["data"]["deleteContentItem"]["__typename"] == "ForbiddenError"
    result = await content_gql(DELETE, {"input": {"itemId": item["id"]}}, token=school.student.token)
    assert result["data"]["deleteContentItem"]["__typename"] == "ForbiddenError"


async def test_a_tampered_url_is_refused(content_gql, content_http, school):
    item = await _attached(content_gql, content_http, school)
    other = await upload(content_gql, content_http, school.instructor.token, PDF + b"x", course=school.course)
    url = item["downloadUrl"]
    assert (await content_http.get(local(url))).status_code == 200
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    tampered = [
        _with(url, signature=query["signature"][:-2] + "AA"),
        _with(url, expires=str(int(query["expires"]) + 3600)),  # a longer life
        _with(url, by="someone-else"),  # another actor in the download event
        local(url).replace("signature=", "x="),
    ]
    # The same signature on another object's path: one URL never opens another object.
    other_version = other["item"]["currentVersion"]["id"]
    tampered.append(
        local(url).replace(
            urllib.parse.urlsplit(url).path, service.download_path(other["item"]["id"], other_version)
        )
    )
    for bad in tampered:
        response = await content_http.get(bad)
        assert response.status_code == 403, bad
        assert response.json()["error"]["code"] == "FORBIDDEN"


async def test_an_expired_url_is_refused(content_gql, content_http, content_runtime, school):
    item = await _attached(content_gql, content_http, school)
    path = urllib.parse.urlsplit(item["downloadUrl"]).path
    expired = signing.sign(service.url_key_of(content_runtime), "GET", path, -1)
    response = await content_http.get(expired)
    assert response.status_code == 403 and "expired" in response.json()["error"]["message"]


async def test_an_upload_url_does_not_download_and_a_download_url_does_not_upload(
    content_gql, content_http, content_runtime, school
):
    item = await _attached(content_gql, content_http, school)
    put = await content_http.put(local(item["downloadUrl"]), content=b"replaced")
    assert put.status_code == 405  # no PUT route there at all
    path = urllib.parse.urlsplit(item["downloadUrl"]).path
    signed_put = signing.sign(service.url_key_of(content_runtime), "PUT", path, 60)
    assert (await content_http.get(signed_put)).status_code == 403


async def test_a_url_is_refused_after_the_item_is_deleted(content_gql, content_http, school):
    item = await _attached(content_gql, content_http, school)
    url = local(item["downloadUrl"])
    assert (await content_http.get(url)).status_code == 200
    result = await content_gql(DELETE, {"input": {"itemId": item["id"]}}, token=school.instructor.token)
    assert result["data"]["deleteContentItem"]["itemId"] == item["id"]
    assert (await content_http.get(url)).status_code == 404
    assert (await content_gql(ITEM, {"id": item["id"]}, token=school.instructor.token))["data"][
        "contentItem"
    ] is None


async def test_executable_kinds_download_as_attachments():
    from subgraphs.content.app import _disposition

    assert _disposition("a.pdf", "application/pdf").startswith("inline;")
    assert _disposition("page.txt", "text/plain").startswith("attachment;")
    assert _disposition("x.zip", "application/zip").startswith("attachment;")
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9.pdf" in _disposition("résumé.pdf", "application/pdf")
