"""Invitations to an organization: invite by email (a mail with a one-time token), list the pending ones,
resend, cancel, accept (which adds the membership)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import Select, Update, select, update

from subgraphs.contracts import organizations as contract
from subgraphs.contracts.base import EventPayload
from subgraphs.core.auth import require_user
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.db import utcnow
from subgraphs.core.errors import NotFound
from subgraphs.core.events import Event, emit, request_event
from subgraphs.core.mail import mail_event, web_link
from subgraphs.core.pagination import Connection, PageRequest
from subgraphs.core.rbac import authorize
from subgraphs.organizations.authz import lock_user
from subgraphs.organizations.errors import AlreadyMember, EmailNotVerified, InvalidInvitation
from subgraphs.organizations.listing import organization_page
from subgraphs.organizations.memberships import after_membership_change, lock_organization, membership_event
from subgraphs.organizations.models import Invitation, Membership, Organization, Outbox
from subgraphs.organizations.roles import MANAGE_MEMBERS, MembershipRole
from subgraphs.organizations.validation import normalize_email


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def _invitation_event(meta: RequestMeta, payload: EventPayload, invitation: Invitation) -> Event:
    return request_event(
        meta, payload, organization_id=invitation.organization_id, subjects={"invitation_id": invitation.id}
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
            token_hash=hash_token(token),
            invited_by=meta.principal.subject,
            expires_at=now + timedelta(seconds=ttl),
        )
        session.add(invitation)
        await session.flush()
        emit(
            session,
            Outbox,
            _invitation_event(
                meta,
                contract.InvitationCreated(email=email, role=role.value, expires_at=invitation.expires_at),
                invitation,
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
    page: PageRequest,
) -> Connection:
    """The pending invitations, newest first."""
    return await organization_page(
        runtime,
        meta,
        MANAGE_MEMBERS,
        organization_id,
        _pending(select(Invitation).where(Invitation.organization_id == organization_id)),
        (Invitation.created_at, Invitation.id),
        page=page,
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
            _invitation_event(
                meta, contract.InvitationCancelled(email=invitation.email, role=invitation.role), invitation
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
                Invitation.token_hash == hash_token(token.strip()),
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
            .values(accepted_at=now, accepted_by=user_id)
            .returning(Invitation)
        )
        if invitation is None:
            raise InvalidInvitation()
        await lock_organization(session, invitation.organization_id)
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
            membership_event(
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
    await after_membership_change(runtime, meta, user_id)
    return member
