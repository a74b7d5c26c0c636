"""Memberships: who belongs to an organization and in which role; list, change a role, remove.

A membership change commits together with its outbox event, then rewrites the user's authorization
projection (subgraphs/organizations/authz.py) before the function returns, so every subgraph applies it
to the very next request — already-issued access tokens included."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.contracts import organizations as contract
from subgraphs.contracts.base import EventPayload
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.errors import NotFound
from subgraphs.core.events import Event, emit, request_event
from subgraphs.core.pagination import Connection, PageRequest
from subgraphs.core.rbac import authorize
from subgraphs.organizations.authz import lock_user, project_user
from subgraphs.organizations.errors import LastAdmin
from subgraphs.organizations.listing import organization_page
from subgraphs.organizations.models import Membership, Organization, Outbox
from subgraphs.organizations.roles import MANAGE_MEMBERS, VIEW_MEMBERS, MembershipRole

log = logging.getLogger("coursegraph.organizations")


@dataclass
class MemberFilter:
    role: MembershipRole | None = None


def membership_event(meta: RequestMeta, payload: EventPayload, membership: Membership) -> Event:
    subjects = {"user_id": membership.user_id, "membership_id": membership.id}
    return request_event(meta, payload, organization_id=membership.organization_id, subjects=subjects)


async def after_membership_change(runtime: Runtime, meta: RequestMeta, user_id: uuid.UUID) -> None:
    """Write-through of the authorization projection, after commit. Should Redis fail here, the worker's
    consumer of the committed event recomputes it; the change itself is never undone."""
    try:
        await project_user(runtime.sessionmaker, runtime.redis, user_id)
    except Exception:
        log.exception("membership projection of %s not written; the worker will repair it", user_id)
    meta.caller.memberships.forget(user_id)


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


async def lock_organization(session: AsyncSession, organization_id: uuid.UUID) -> Organization:
    """Row-lock the organization: membership changes of one organization run one at a time (the last-admin
    rule holds under concurrency)."""
    org = await session.get(Organization, organization_id, with_for_update=True)
    if org is None:
        raise NotFound("No such organization.")
    return org


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
    page: PageRequest,
) -> Connection:
    return await organization_page(
        runtime,
        meta,
        VIEW_MEMBERS,
        organization_id,
        _member_filter(select(Membership).where(Membership.organization_id == organization_id), filter),
        (Membership.joined_at, Membership.id),
        page=page,
    )


async def _member_for_change(
    session: AsyncSession, organization_id: uuid.UUID, user_id: uuid.UUID
) -> Membership:
    """The membership, row-locked after its organization and its user (the order every membership change
    locks in)."""
    await lock_organization(session, organization_id)
    await lock_user(session, user_id)
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
        member = await _member_for_change(session, organization_id, user_id)
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
            membership_event(meta, contract.MembershipRoleChanged(before=before, after=role.value), member),
        )
    await after_membership_change(runtime, meta, user_id)
    return member


async def remove_member(
    runtime: Runtime, meta: RequestMeta, *, organization_id: uuid.UUID, user_id: uuid.UUID
) -> Membership:
    """Remove a member; their access to the organization ends before this returns."""
    await authorize(meta.caller, MANAGE_MEMBERS, organization_id)
    async with runtime.transaction() as session:
        member = await _member_for_change(session, organization_id, user_id)
        if (
            member.role == MembershipRole.ORGANIZATION_ADMIN.value
            and await _admin_count(session, organization_id) <= 1
        ):
            raise LastAdmin()
        await session.delete(member)
        emit(
            session,
            Outbox,
            membership_event(meta, contract.MembershipRemoved(role=member.role), member),
        )
    await after_membership_change(runtime, meta, user_id)
    return member
