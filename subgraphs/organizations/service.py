"""Organizations: tenants, memberships, invitations, tracks and the audit log. No GraphQL here.

Every change commits together with its outbox events. A membership change then rewrites the user's
authorization projection (subgraphs/organizations/authz.py) before the function returns, so every
subgraph applies it to the very next request — already-issued access tokens included.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from email_validator import EmailNotValidError, validate_email
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import Select, Update, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.contracts import organizations as contract
from subgraphs.contracts.base import EventPayload
from subgraphs.contracts.vocabulary import OrganizationSettings
from subgraphs.core.auth import require_user
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.course_owners import foreign_courses_read_your_writes
from subgraphs.core.db import utcnow
from subgraphs.core.errors import Forbidden, InvalidInput, NotAuthenticated, NotFound
from subgraphs.core.events import Event, emit, request_event
from subgraphs.core.mail import mail_event, web_link
from subgraphs.core.pagination import Connection, paginate
from subgraphs.core.rbac import Permission, Role, authorize, organizations_permitting
from subgraphs.core.time_pagination import paginate_by_time
from subgraphs.organizations.authz import lock_user, project_user
from subgraphs.organizations.errors import (
    AlreadyMember,
    EmailNotVerified,
    InvalidInvitation,
    LastAdmin,
    SlugTaken,
)
from subgraphs.organizations.models import (
    AuditLogEntry,
    CourseOwner,
    Invitation,
    Membership,
    Organization,
    Outbox,
    Track,
)

log = logging.getLogger("coursegraph.organizations")
# The worker's consumer group that keeps this domain's CourseOwner table (worker.py).
COURSE_OWNERS_GROUP = "organizations-course-owners"

# What each operation needs inside the organization (core.rbac.ROLE_PERMISSIONS by membership role).
VIEW_ORGANIZATION = Permission.VIEW_COURSES  # every membership role holds it
VIEW_MEMBERS = Permission.VIEW_USERS  # organization admins
MANAGE_MEMBERS = Permission.MANAGE_ORGANIZATION
MANAGE_ORGANIZATION = Permission.MANAGE_ORGANIZATION
VIEW_TRACKS = Permission.VIEW_COURSES
MANAGE_TRACKS = Permission.UPDATE_COURSES  # instructors and admins
VIEW_AUDIT_LOG = Permission.VIEW_AUDIT_LOGS

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,62}[a-z0-9])$")
MAX_TRACK_COURSES = 200


class MembershipRole(StrEnum):
    """A role inside one organization; the values are core.rbac.Role values (their permission sets)."""

    STUDENT = Role.STUDENT.value
    INSTRUCTOR = Role.INSTRUCTOR.value
    ORGANIZATION_ADMIN = Role.ORGANIZATION_ADMIN.value


def org_settings(row: Organization) -> OrganizationSettings:
    return OrganizationSettings.model_validate(row.settings or {})


@dataclass
class MemberFilter:
    role: MembershipRole | None = None


@dataclass
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


# --- helpers --------------------------------------------------------------------------------------


def _membership_event(meta: RequestMeta, payload: EventPayload, membership: Membership) -> Event:
    subjects = {"user_id": membership.user_id, "membership_id": membership.id}
    return request_event(meta, payload, organization_id=membership.organization_id, subjects=subjects)


async def _after_membership_change(runtime: Runtime, meta: RequestMeta, user_id: uuid.UUID) -> None:
    """Write-through of the authorization projection, after commit. Should Redis fail here, the worker's
    consumer of the committed event recomputes it; the change itself is never undone."""
    try:
        await project_user(runtime.sessionmaker, runtime.redis, user_id)
    except Exception:
        log.exception("membership projection of %s not written; the worker will repair it", user_id)
    meta.caller.memberships.forget(user_id)


def clean_name(value: str, field: str, *, limit: int = 200) -> str:
    name = " ".join(value.split())
    if not 1 <= len(name) <= limit:
        raise InvalidInput({field: f"Give a name of 1 to {limit} characters."})
    return name


def clean_description(value: str | None, field: str) -> str:
    text = (value or "").strip()
    if len(text) > 5000:
        raise InvalidInput({field: "Keep it under 5000 characters."})
    return text


def clean_slug(value: str, field: str = "input.slug") -> str:
    slug = value.strip().lower()
    if not SLUG_PATTERN.match(slug):
        raise InvalidInput(
            {field: "Use 3 to 64 lower-case letters, digits and dashes, not starting or ending with a dash."}
        )
    return slug


def normalize_email(email: str, field: str = "input.email") -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput({field: str(exc)}) from exc


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return secrets.token_urlsafe(32)


async def _admin_count(session: AsyncSession, organization_id: uuid.UUID) -> int:
    counted = await session.execute(
        select(func.count())
        .select_from(Membership)
        .where(
            Membership.organization_id == organization_id,
            Membership.role == MembershipRole.ORGANIZATION_ADMIN.value,
        )
    )
    return counted.scalar_one()


async def _lock_organization(session: AsyncSession, organization_id: uuid.UUID) -> Organization:
    """Row-lock the organization: membership changes of one organization run one at a time (the last-admin
    rule holds under concurrency)."""
    org = await session.get(Organization, organization_id, with_for_update=True)
    if org is None:
        raise NotFound("No such organization.")
    return org


# --- organizations --------------------------------------------------------------------------------


async def create_organization(
    runtime: Runtime, meta: RequestMeta, *, name: str, slug: str, description: str | None
) -> Organization:
    """Any signed-in user with a verified email; they become its ORGANIZATION_ADMIN."""
    user_id = require_user(meta.principal)
    if not meta.principal.email_verified:
        raise EmailNotVerified()
    name = clean_name(name, "input.name")
    slug = clean_slug(slug)
    description = clean_description(description, "input.description")
    settings = OrganizationSettings()
    try:
        async with runtime.transaction() as session:
            org = Organization(
                name=name,
                slug=slug,
                description=description,
                settings=settings.model_dump(),
                created_by=user_id,
            )
            session.add(org)
            await session.flush()
            await lock_user(session, user_id)
            member = Membership(
                organization_id=org.id, user_id=user_id, role=MembershipRole.ORGANIZATION_ADMIN.value
            )
            session.add(member)
            await session.flush()
            emit(
                session,
                Outbox,
                request_event(
                    meta,
                    contract.OrganizationCreated(name=name, slug=slug, settings=settings),
                    organization_id=org.id,
                    subjects={"organization_id": org.id},
                ),
            )
            emit(
                session,
                Outbox,
                _membership_event(meta, contract.MembershipAdded(role=member.role, via="created"), member),
            )
    except IntegrityError as exc:
        if "uq_organization_slug" in str(exc.orig):
            raise SlugTaken() from exc
        raise
    await _after_membership_change(runtime, meta, user_id)
    return org


async def update_organization(
    runtime: Runtime,
    meta: RequestMeta,
    *,
    id: uuid.UUID,
    name: str | None = None,
    slug: str | None = None,
    description: str | None = None,
    settings: dict[str, Any] | None = None,
) -> Organization:
    await authorize(meta.caller, MANAGE_ORGANIZATION, id)
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = clean_name(name, "input.name")
    if slug is not None:
        changes["slug"] = clean_slug(slug)
    if description is not None:
        changes["description"] = clean_description(description, "input.description")
    try:
        async with runtime.transaction() as session:
            org = await _lock_organization(session, id)
            if settings:
                try:
                    merged = OrganizationSettings.model_validate(
                        {**org_settings(org).model_dump(), **settings}
                    )
                except PydanticValidationError as exc:
                    raise InvalidInput(
                        {f"input.settings.{'.'.join(map(str, e['loc']))}": e["msg"] for e in exc.errors()}
                    ) from exc
                changes["settings"] = merged.model_dump()
            before = {key: getattr(org, key) for key in changes}
            for key, value in changes.items():
                setattr(org, key, value)
            org.updated_at = utcnow()
            await session.flush()
            emit(
                session,
                Outbox,
                request_event(
                    meta,
                    contract.OrganizationUpdated(
                        before=contract.OrganizationFields(**before),
                        after=contract.OrganizationFields(**changes),
                    ),
                    organization_id=org.id,
                    subjects={"organization_id": org.id},
                ),
            )
    except IntegrityError as exc:
        if "uq_organization_slug" in str(exc.orig):
            raise SlugTaken() from exc
        raise
    return org


async def get_organization(
    runtime: Runtime, meta: RequestMeta, *, id: uuid.UUID | None = None, slug: str | None = None
) -> Organization | None:
    """None when there is no such organization; AccessDenied when there is one the caller may not see."""
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    if (id is None) == (slug is None):
        raise InvalidInput({"id": "Give exactly one of id and slug."})
    async with runtime.transaction() as session:
        if id is not None:
            org = await session.get(Organization, id)
        else:
            org = await session.scalar(
                select(Organization).where(Organization.slug == (slug or "").strip().lower())
            )
    if org is None:
        if id is not None:
            # An unknown id is refused like a foreign one (site admins: null), so ids reveal nothing.
            await authorize(meta.caller, VIEW_ORGANIZATION, id)
        return None
    await authorize(meta.caller, VIEW_ORGANIZATION, org.id)
    return org


async def my_organizations(runtime: Runtime, meta: RequestMeta) -> list[Organization]:
    """The organizations the signed-in user is a member of (an API client: the one it is bound to)."""
    principal = meta.principal
    if not principal.is_authenticated:
        raise NotAuthenticated()
    async with runtime.transaction() as session:
        if principal.user_id is not None:
            stmt = (
                select(Organization)
                .join(Membership, Membership.organization_id == Organization.id)
                .where(Membership.user_id == principal.user_id)
                .order_by(Organization.name, Organization.id)
            )
        else:
            visible = await organizations_permitting(meta.caller, VIEW_ORGANIZATION)
            stmt = (
                select(Organization).where(Organization.id.in_(visible.uuids())).order_by(Organization.name)
            )
        return list((await session.scalars(stmt)).all())


async def list_organizations(
    runtime: Runtime,
    meta: RequestMeta,
    *,
    search: str | None,
    first: int | None,
    after: str | None,
    to_node: Any,
) -> Connection:
    """Every organization of the platform, by name (site admins); `search` matches name or slug."""
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    if not meta.principal.is_site_admin:
        raise Forbidden("Only site administrators list every organization.")
    stmt = select(Organization)
    if search and search.strip():
        pattern = "%" + search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Organization.name.ilike(pattern), Organization.slug.ilike(pattern)))
    async with runtime.transaction() as session:
        return await paginate(
            session,
            stmt,
            sort_columns=(Organization.name, Organization.id),
            first=first,
            after=after,
            max_page_size=runtime.settings.graphql.max_page_size,
            to_node=to_node,
            cursor_kinds=(str, uuid.UUID),
        )


# --- members and invitations ----------------------------------------------------------------------


def _member_filter(stmt: Select, filter: MemberFilter) -> Select:
    if filter.role is not None:
        stmt = stmt.where(Membership.role == filter.role.value)
    return stmt


async def list_members(
    runtime: Runtime,
    meta: RequestMeta,
    *,
    organization_id: uuid.UUID,
    filter: MemberFilter,
    first: int | None,
    after: str | None,
    to_node: Any,
) -> Connection:
    await authorize(meta.caller, VIEW_MEMBERS, organization_id)
    async with runtime.transaction() as session:
        stmt = _member_filter(select(Membership).where(Membership.organization_id == organization_id), filter)
        return await paginate_by_time(
            runtime,
            session,
            stmt,
            (Membership.joined_at, Membership.id),
            first=first,
            after=after,
            to_node=to_node,
        )


async def invite_member(
    runtime: Runtime, meta: RequestMeta, *, organization_id: uuid.UUID, email: str, role: MembershipRole
) -> Invitation:
    """Mail a single-use, expiring link; a newer invitation to the same address supersedes older ones."""
    await authorize(meta.caller, MANAGE_MEMBERS, organization_id)
    email = normalize_email(email)
    token = _new_token()
    ttl = runtime.settings.organizations.invitation_ttl_seconds
    async with runtime.transaction() as session:
        org = await session.get(Organization, organization_id)
        if org is None:
            raise NotFound("No such organization.")
        now = utcnow()
        await session.execute(
            update(Invitation)
            .where(
                Invitation.organization_id == organization_id,
                Invitation.email == email,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        invitation = Invitation(
            organization_id=organization_id,
            email=email,
            role=role.value,
            token_hash=_hash_token(token),
            invited_by=meta.principal.subject,
            expires_at=now + timedelta(seconds=ttl),
        )
        session.add(invitation)
        await session.flush()
        emit(
            session,
            Outbox,
            request_event(
                meta,
                contract.InvitationCreated(email=email, role=role.value, expires_at=invitation.expires_at),
                organization_id=organization_id,
                subjects={"invitation_id": invitation.id},
            ),
        )
        days = max(1, round(ttl / 86400))
        body = (
            f"You are invited to join {org.name} on CourseGraph as {role.name.replace('_', ' ').lower()}.\n\n"
            "Accept the invitation here (sign in, or create an account with this address, and confirm it):\n"
            f"{web_link(runtime.settings.mail, '/invitations/accept', token=token, email=email)}\n\n"
            f"Or use this token with the acceptInvitation mutation:\nToken: {token}\n\n"
            f"The invitation can be used once and expires in {days} day(s).\n"
            "If you did not expect it, ignore this message.\n"
        )
        emit(
            session,
            Outbox,
            mail_event(
                "organizations",
                to=email,
                subject=f"Join {org.name} on CourseGraph",
                body=body,
                kind="organization_invitation",
                request_id=meta.request_id,
                organization_id=str(organization_id),
            ),
        )
    return invitation


# The statements `_pending` narrows: reads, and the update that cancels.
PendingT = TypeVar("PendingT", Select, Update)


def _pending(stmt: PendingT) -> PendingT:
    """Invitations not accepted, cancelled nor superseded (expired ones too: the admin sees them lapse)."""
    return stmt.where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))


async def list_invitations(
    runtime: Runtime,
    meta: RequestMeta,
    *,
    organization_id: uuid.UUID,
    first: int | None,
    after: str | None,
    to_node: Any,
) -> Connection:
    await authorize(meta.caller, MANAGE_MEMBERS, organization_id)
    async with runtime.transaction() as session:
        return await paginate_by_time(
            runtime,
            session,
            _pending(select(Invitation).where(Invitation.organization_id == organization_id)),
            (Invitation.created_at, Invitation.id),
            first=first,
            after=after,
            to_node=to_node,
            descending=True,
        )


async def _pending_invitation(runtime: Runtime, meta: RequestMeta, invitation_id: uuid.UUID) -> Invitation:
    async with runtime.transaction() as session:
        invitation = await session.scalar(_pending(select(Invitation).where(Invitation.id == invitation_id)))
    if invitation is None:
        raise NotFound("No such pending invitation.")
    await authorize(meta.caller, MANAGE_MEMBERS, invitation.organization_id)
    return invitation


async def resend_invitation(runtime: Runtime, meta: RequestMeta, *, invitation_id: uuid.UUID) -> Invitation:
    """Mail a new link for a pending invitation (same address and role); the old link stops working."""
    invitation = await _pending_invitation(runtime, meta, invitation_id)
    return await invite_member(
        runtime,
        meta,
        organization_id=invitation.organization_id,
        email=invitation.email,
        role=MembershipRole(invitation.role),
    )


async def cancel_invitation(runtime: Runtime, meta: RequestMeta, *, invitation_id: uuid.UUID) -> Invitation:
    """Withdraw a pending invitation: its link stops working at once."""
    found = await _pending_invitation(runtime, meta, invitation_id)
    async with runtime.transaction() as session:
        invitation = await session.scalar(
            _pending(update(Invitation).where(Invitation.id == found.id))
            .values(revoked_at=utcnow())
            .returning(Invitation)
        )
        if invitation is None:  # accepted or cancelled in the meantime
            raise NotFound("No such pending invitation.")
        emit(
            session,
            Outbox,
            request_event(
                meta,
                contract.InvitationCancelled(email=invitation.email, role=invitation.role),
                organization_id=invitation.organization_id,
                subjects={"invitation_id": invitation.id},
            ),
        )
    return invitation


async def accept_invitation(runtime: Runtime, meta: RequestMeta, *, token: str) -> Membership:
    """Join with a mailed token. Holding the token proves access to the invited mailbox (it was sent
    nowhere else), so whoever is signed in with an email-verified account and presents it joins."""
    user_id = require_user(meta.principal)
    if not meta.principal.email_verified:
        raise EmailNotVerified()
    async with runtime.transaction() as session:
        now = utcnow()
        invitation = await session.scalar(
            update(Invitation)
            .where(
                Invitation.token_hash == _hash_token(token.strip()),
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
            .values(accepted_at=now, accepted_by=user_id)
            .returning(Invitation)
        )
        if invitation is None:
            raise InvalidInvitation()
        await _lock_organization(session, invitation.organization_id)
        await lock_user(session, user_id)
        existing = await session.scalar(
            select(Membership.id).where(
                Membership.organization_id == invitation.organization_id, Membership.user_id == user_id
            )
        )
        if existing is not None:
            raise AlreadyMember()  # rolls back: the invitation stays usable
        member = Membership(organization_id=invitation.organization_id, user_id=user_id, role=invitation.role)
        session.add(member)
        await session.flush()
        emit(
            session,
            Outbox,
            _membership_event(
                meta,
                contract.MembershipAdded(
                    role=member.role,
                    via="invitation",
                    invitation_id=invitation.id,
                    invited_email=invitation.email,
                ),
                member,
            ),
        )
    await _after_membership_change(runtime, meta, user_id)
    return member


async def _member_for_update(
    session: AsyncSession, organization_id: uuid.UUID, user_id: uuid.UUID
) -> Membership:
    member = await session.scalar(
        select(Membership)
        .where(Membership.organization_id == organization_id, Membership.user_id == user_id)
        .with_for_update()
    )
    if member is None:
        raise NotFound("This person is not a member of the organization.")
    return member


async def update_member_role(
    runtime: Runtime,
    meta: RequestMeta,
    *,
    organization_id: uuid.UUID,
    user_id: uuid.UUID,
    role: MembershipRole,
) -> Membership:
    await authorize(meta.caller, MANAGE_MEMBERS, organization_id)
    async with runtime.transaction() as session:
        await _lock_organization(session, organization_id)
        await lock_user(session, user_id)
        member = await _member_for_update(session, organization_id, user_id)
        before = member.role
        if before == role.value:
            return member
        if (
            before == MembershipRole.ORGANIZATION_ADMIN.value
            and await _admin_count(session, organization_id) <= 1
        ):
            raise LastAdmin()
        member.role = role.value
        await session.flush()
        emit(
            session,
            Outbox,
            _membership_event(meta, contract.MembershipRoleChanged(before=before, after=role.value), member),
        )
    await _after_membership_change(runtime, meta, user_id)
    return member


async def remove_member(
    runtime: Runtime, meta: RequestMeta, *, organization_id: uuid.UUID, user_id: uuid.UUID
) -> Membership:
    """Remove a member; their access to the organization ends before this returns."""
    await authorize(meta.caller, MANAGE_MEMBERS, organization_id)
    async with runtime.transaction() as session:
        await _lock_organization(session, organization_id)
        await lock_user(session, user_id)
        member = await _member_for_update(session, organization_id, user_id)
        if (
            member.role == MembershipRole.ORGANIZATION_ADMIN.value
            and await _admin_count(session, organization_id) <= 1
        ):
            raise LastAdmin()
        await session.delete(member)
        emit(
            session,
            Outbox,
            _membership_event(meta, contract.MembershipRemoved(role=member.role), member),
        )
    await _after_membership_change(runtime, meta, user_id)
    return member


# --- tracks ---------------------------------------------------------------------------------------


def _course_ids(values: list[str], field: str) -> list[uuid.UUID]:
    ids: list[uuid.UUID] = []
    for i, value in enumerate(values):
        try:
            ids.append(uuid.UUID(str(value)))
        except ValueError as exc:
            raise InvalidInput({f"{field}.{i}": "Not a valid id."}) from exc
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
    first: int | None,
    after: str | None,
    to_node: Any,
) -> Connection:
    await authorize(meta.caller, VIEW_TRACKS, organization_id)
    async with runtime.transaction() as session:
        return await paginate_by_time(
            runtime,
            session,
            select(Track).where(Track.organization_id == organization_id),
            (Track.created_at, Track.id),
            first=first,
            after=after,
            to_node=to_node,
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
    if not meta.principal.is_authenticated:
        raise NotAuthenticated()
    track = await session.get(Track, id, with_for_update=True)
    if track is None:
        raise NotFound("No such track.")
    await authorize(meta.caller, MANAGE_TRACKS, track.organization_id)
    return track


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


# --- audit log ------------------------------------------------------------------------------------


def _audit_filter(stmt: Select, filter: AuditFilter) -> Select:
    if filter.actor:
        stmt = stmt.where(AuditLogEntry.actor_id == filter.actor)
    if filter.action:
        if filter.action.endswith(".*"):
            prefix = filter.action[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(AuditLogEntry.action.like(prefix + "%"))
        else:
            stmt = stmt.where(AuditLogEntry.action == filter.action)
    if filter.since:
        stmt = stmt.where(AuditLogEntry.occurred_at >= filter.since)
    if filter.until:
        stmt = stmt.where(AuditLogEntry.occurred_at < filter.until)
    return stmt


async def list_audit_log(
    runtime: Runtime,
    meta: RequestMeta,
    *,
    organization_id: uuid.UUID | None,
    filter: AuditFilter,
    first: int | None,
    after: str | None,
    to_node: Any,
) -> Connection:
    """Newest first. One organization's entries (VIEW_AUDIT_LOGS there), or, without an organization,
    every entry of the platform (site admins)."""
    if organization_id is None:
        if not meta.principal.is_authenticated:
            raise NotAuthenticated()
        if not meta.principal.is_site_admin:
            raise Forbidden("Only site administrators read the platform-wide audit log.")
        stmt = select(AuditLogEntry)
    else:
        await authorize(meta.caller, VIEW_AUDIT_LOG, organization_id)
        stmt = select(AuditLogEntry).where(AuditLogEntry.organization_id == organization_id)
    async with runtime.transaction() as session:
        return await paginate_by_time(
            runtime,
            session,
            _audit_filter(stmt, filter),
            (AuditLogEntry.occurred_at, AuditLogEntry.id),
            first=first,
            after=after,
            to_node=to_node,
            descending=True,
        )
