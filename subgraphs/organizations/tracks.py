"""Tracks: an organization's ordered learning paths over its courses (known from the CourseOwner
projection of `events.courses`)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.contracts import organizations as contract
from subgraphs.contracts.base import EventPayload
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.course_owners import foreign_courses_read_your_writes
from subgraphs.core.db import utcnow
from subgraphs.core.errors import InvalidInput, NotAuthenticated, NotFound
from subgraphs.core.events import Event, emit, request_event
from subgraphs.core.guards import authorized_row
from subgraphs.core.ordering import parse_ids
from subgraphs.core.pagination import Connection, PageRequest
from subgraphs.core.rbac import authorize
from subgraphs.organizations.listing import organization_page
from subgraphs.organizations.models import CourseOwner, Organization, Outbox, Track
from subgraphs.organizations.roles import MANAGE_TRACKS, VIEW_TRACKS
from subgraphs.organizations.validation import clean_description, clean_name

# The worker's consumer group that keeps this domain's CourseOwner table (worker.py).
COURSE_OWNERS_GROUP = "organizations-course-owners"
MAX_TRACK_COURSES = 200


def _course_ids(values: list[str], field: str) -> list[uuid.UUID]:
    ids = parse_ids(values, field)
    if len(set(ids)) != len(ids):
        raise InvalidInput({field: "A course appears once in a track."})
    if len(ids) > MAX_TRACK_COURSES:
        raise InvalidInput({field: f"A track holds at most {MAX_TRACK_COURSES} courses."})
    return ids


async def _check_courses(
    runtime: Runtime, session: AsyncSession, organization_id: uuid.UUID, ids: list[uuid.UUID], field: str
) -> None:
    """Every course of a track is a live course of the track's organization (the course_owner projection)."""
    foreign = await foreign_courses_read_your_writes(
        runtime, session, CourseOwner, COURSE_OWNERS_GROUP, organization_id, ids
    )
    if foreign:
        raise NotFound(f"No such course in this organization: {field}.{ids.index(foreign[0])}.")


def _track_event(meta: RequestMeta, payload: EventPayload, track: Track) -> Event:
    return request_event(
        meta, payload, organization_id=track.organization_id, subjects={"track_id": track.id}
    )


async def get_track(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID) -> Track | None:
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    async with runtime.transaction() as session:
        track = await session.get(Track, id)
    if track is None:
        return None
    await authorize(meta.caller, VIEW_TRACKS, track.organization_id)
    return track


async def list_tracks(
    runtime: Runtime,
    meta: RequestMeta,
    *,
    organization_id: uuid.UUID,
    page: PageRequest,
) -> Connection:
    return await organization_page(
        runtime,
        meta,
        VIEW_TRACKS,
        organization_id,
        select(Track).where(Track.organization_id == organization_id),
        (Track.created_at, Track.id),
        page=page,
    )


async def create_track(
    runtime: Runtime,
    meta: RequestMeta,
    *,
    organization_id: uuid.UUID,
    name: str,
    description: str | None,
    course_ids: list[str],
) -> Track:
    await authorize(meta.caller, MANAGE_TRACKS, organization_id)
    name = clean_name(name, "input.name")
    description = clean_description(description, "input.description")
    ids = _course_ids(course_ids, "input.courseIds")
    async with runtime.transaction() as session:
        if await session.get(Organization, organization_id) is None:
            raise NotFound("No such organization.")
        await _check_courses(runtime, session, organization_id, ids, "input.courseIds")
        track = Track(organization_id=organization_id, name=name, description=description, course_ids=ids)
        session.add(track)
        await session.flush()
        emit(
            session,
            Outbox,
            _track_event(meta, contract.TrackCreated(name=name, course_ids=ids), track),
        )
    return track


async def _track_for_update(
    runtime: Runtime, meta: RequestMeta, session: AsyncSession, id: uuid.UUID
) -> Track:
    """The track, row-locked, after checking the caller may manage tracks of its organization."""
    return await authorized_row(meta, session, Track, id, MANAGE_TRACKS, missing="No such track.", lock=True)


async def update_track(
    runtime: Runtime,
    meta: RequestMeta,
    *,
    id: uuid.UUID,
    name: str | None = None,
    description: str | None = None,
    course_ids: list[str] | None = None,
) -> Track:
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = clean_name(name, "input.name")
    if description is not None:
        changes["description"] = clean_description(description, "input.description")
    if course_ids is not None:
        changes["course_ids"] = _course_ids(course_ids, "input.courseIds")
    async with runtime.transaction() as session:
        track = await _track_for_update(runtime, meta, session, id)
        if "course_ids" in changes:
            await _check_courses(
                runtime, session, track.organization_id, changes["course_ids"], "input.courseIds"
            )
        for key, value in changes.items():
            setattr(track, key, value)
        track.updated_at = utcnow()  # explicit: a server-side onupdate would expire it after flush
        await session.flush()
        emit(
            session,
            Outbox,
            _track_event(
                meta,
                contract.TrackUpdated(changed=sorted(changes), course_ids=list(track.course_ids)),
                track,
            ),
        )
    return track


async def reorder_track(
    runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID, course_ids: list[str]
) -> Track:
    """Put the track's courses in a new order: `course_ids` must hold exactly the track's courses."""
    ids = _course_ids(course_ids, "input.courseIds")
    async with runtime.transaction() as session:
        track = await _track_for_update(runtime, meta, session, id)
        if sorted(ids) != sorted(track.course_ids):
            raise InvalidInput(
                {"input.courseIds": "Give exactly the track's current courses, in the new order."},
                message="Reordering keeps the same courses.",
            )
        track.course_ids = ids
        track.updated_at = utcnow()
        await session.flush()
        emit(
            session,
            Outbox,
            _track_event(meta, contract.TrackReordered(course_ids=ids), track),
        )
    return track


async def delete_track(runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID) -> Track:
    async with runtime.transaction() as session:
        track = await _track_for_update(runtime, meta, session, id)
        await session.execute(delete(Track).where(Track.id == id))
        emit(session, Outbox, _track_event(meta, contract.TrackDeleted(name=track.name), track))
    return track
