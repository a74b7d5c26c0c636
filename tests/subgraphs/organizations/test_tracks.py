"""Tracks: ordered learning paths of course ids, managed by instructors and admins, read by members."""

from __future__ import annotations

import uuid

from subgraphs.organizations.models import CourseOwner
from tests.course_owners import announce_course
from tests.subgraphs.organizations.queries import (
    CREATE_TRACK,
    DELETE_TRACK,
    REORDER_TRACK,
    TRACK,
    TRACKS,
    UPDATE_TRACK,
)


async def course_ids(org_runtime, org_id: str, n: int) -> list[str]:
    """Courses of the organization, as the course_owner projection learns them from `events.courses`."""
    return [await announce_course(org_runtime, CourseOwner, org_id) for _ in range(n)]


async def create(
    org_gql, caller, org_id: str, name: str = "Python path", courses: list[str] | None = None
) -> dict:
    body = await org_gql(
        CREATE_TRACK,
        {
            "input": {
                "organizationId": org_id,
                "name": name,
                "description": "Start here",
                "courseIds": courses or [],
            }
        },
        token=caller.token,
    )
    return body["data"]["createTrack"]


async def test_instructor_creates_and_members_read_a_track(org_gql, org_runtime, minter):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    instructor = await minter.member(org_id, "instructor")
    student = await minter.member(org_id, "student")
    courses = await course_ids(org_runtime, org_id, 3)
    created = await create(org_gql, instructor, org_id, courses=courses)
    assert created["__typename"] == "TrackSuccess", created
    track = created["track"]
    assert track["courseIds"] == courses and track["organization"] == {"id": org_id}

    read = await org_gql(TRACK, {"id": track["id"]}, token=student.token)
    assert read["data"]["track"]["courseIds"] == courses
    refused = await create(org_gql, student, org_id)
    assert refused["__typename"] == "ForbiddenError"


async def test_reorder_keeps_the_same_courses_in_a_new_order(org_gql, org_runtime, minter):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    courses = await course_ids(org_runtime, org_id, 4)
    track = (await create(org_gql, admin, org_id, courses=courses))["track"]

    new_order = [courses[2], courses[0], courses[3], courses[1]]
    body = await org_gql(
        REORDER_TRACK, {"input": {"id": track["id"], "courseIds": new_order}}, token=admin.token
    )
    assert body["data"]["reorderTrack"]["track"]["courseIds"] == new_order
    read = await org_gql(TRACK, {"id": track["id"]}, token=admin.token)
    assert read["data"]["track"]["courseIds"] == new_order

    for wrong in (new_order[:3], [*new_order[:3], str(uuid.uuid4())], [*new_order, new_order[0]]):
        refused = await org_gql(
            REORDER_TRACK, {"input": {"id": track["id"], "courseIds": wrong}}, token=admin.token
        )
        assert refused["data"]["reorderTrack"]["__typename"] == "ValidationError", wrong
    unchanged = await org_gql(TRACK, {"id": track["id"]}, token=admin.token)
    assert unchanged["data"]["track"]["courseIds"] == new_order


async def test_update_replaces_fields_given_and_delete_removes(org_gql, org_runtime, minter):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    track = (await create(org_gql, admin, org_id, courses=await course_ids(org_runtime, org_id, 2)))["track"]
    replaced = await course_ids(org_runtime, org_id, 1)
    body = await org_gql(
        UPDATE_TRACK,
        {"input": {"id": track["id"], "name": "Renamed", "courseIds": replaced}},
        token=admin.token,
    )
    updated = body["data"]["updateTrack"]["track"]
    assert (
        updated["name"] == "Renamed"
        and updated["description"] == "Start here"
        and updated["courseIds"] == replaced
    )

    deleted = await org_gql(DELETE_TRACK, {"input": {"id": track["id"]}}, token=admin.token)
    assert deleted["data"]["deleteTrack"] == {"__typename": "DeleteTrackSuccess", "id": track["id"]}
    assert (await org_gql(TRACK, {"id": track["id"]}, token=admin.token)) == {"data": {"track": None}}
    again = await org_gql(DELETE_TRACK, {"input": {"id": track["id"]}}, token=admin.token)
    assert again["data"]["deleteTrack"]["__typename"] == "NotFoundError"


async def test_tracks_page_oldest_first(org_gql, org_runtime, minter):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    names = [f"Track {i}" for i in range(5)]
    for name in names:
        await create(org_gql, admin, org_id, name=name)
    seen: list[str] = []
    after = None
    while True:
        page = (await org_gql(TRACKS, {"org": org_id, "first": 2, "after": after}, token=admin.token))[
            "data"
        ]["tracks"]
        seen += [edge["node"]["name"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == names


async def test_track_input_is_validated(org_gql, org_runtime, minter):
    admin = await minter.user()
    org_id = await minter.organization(admin)
    bad_id = await create(org_gql, admin, org_id, courses=["not-a-uuid"])
    assert bad_id["__typename"] == "ValidationError"
    same = str(uuid.uuid4())
    duplicate = await create(org_gql, admin, org_id, courses=[same, same])
    assert duplicate["__typename"] == "ValidationError"
    unnamed = await create(org_gql, admin, org_id, name=" ")
    assert unnamed["__typename"] == "ValidationError"


async def test_tracks_refuse_unknown_deleted_and_foreign_courses(org_gql, org_runtime, minter):
    """Issue 13 item 13: course ids are checked against the course_owner projection (from events.courses)."""
    admin = await minter.user()
    org_id = await minter.organization(admin)
    own = await course_ids(org_runtime, org_id, 1)
    foreign = await announce_course(org_runtime, CourseOwner, uuid.uuid4())
    deleted = await announce_course(org_runtime, CourseOwner, org_id)
    await announce_course(org_runtime, CourseOwner, org_id, deleted, verb="deleted")
    for bad in (str(uuid.uuid4()), foreign, deleted):
        refused = await create(org_gql, admin, org_id, courses=[*own, bad])
        assert refused["__typename"] == "NotFoundError" and refused["code"] == "NOT_FOUND", refused
        assert "input.courseIds.1" in refused["message"]

    track = (await create(org_gql, admin, org_id, courses=own))["track"]
    body = await org_gql(
        UPDATE_TRACK, {"input": {"id": track["id"], "courseIds": [foreign]}}, token=admin.token
    )
    assert body["data"]["updateTrack"]["__typename"] == "NotFoundError", body
    read = await org_gql(TRACK, {"id": track["id"]}, token=admin.token)
    assert read["data"]["track"]["courseIds"] == own
