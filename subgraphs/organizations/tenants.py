"""Organizations (the tenants): create, change (name, slug, settings), read, list. No GraphQL here."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from subgraphs.contracts import organizations as contract
from subgraphs.contracts.base import EventPayload
from subgraphs.contracts.vocabulary import OrganizationSettings
from subgraphs.core.auth import require_site_admin, require_user
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.db import utcnow
from subgraphs.core.errors import InvalidInput, NotAuthenticated
from subgraphs.core.events import Event, emit, request_event
from subgraphs.core.pagination import Connection, PageRequest, paginate
from subgraphs.core.rbac import authorize, organizations_permitting
from subgraphs.core.text import clean_slug
from subgraphs.organizations.authz import lock_user
from subgraphs.organizations.errors import EmailNotVerified, SlugTaken
from subgraphs.organizations.memberships import after_membership_change, lock_organization, membership_event
from subgraphs.organizations.models import Membership, Organization, Outbox
from subgraphs.organizations.roles import MANAGE_ORGANIZATION, VIEW_ORGANIZATION, MembershipRole
from subgraphs.organizations.validation import clean_description, clean_name


def org_settings(row: Organization) -> OrganizationSettings:
    return OrganizationSettings.model_validate(row.settings or {})


def _organization_event(meta: RequestMeta, payload: EventPayload, org: Organization) -> Event:
    return request_event(meta, payload, organization_id=org.id, subjects={"organization_id": org.id})


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
                _organization_event(
                    meta, contract.OrganizationCreated(name=name, slug=slug, settings=settings), org
                ),
            )
            emit(
                session,
                Outbox,
                membership_event(meta, contract.MembershipAdded(role=member.role, via="created"), member),
            )
    except IntegrityError as exc:
        if "uq_organization_slug" in str(exc.orig):
            raise SlugTaken() from exc
        raise
    await after_membership_change(runtime, meta, user_id)
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
            org = await lock_organization(session, id)
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
                _organization_event(
                    meta,
                    contract.OrganizationUpdated(
                        before=contract.OrganizationFields(**before),
                        after=contract.OrganizationFields(**changes),
                    ),
                    org,
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
    page: PageRequest,
) -> Connection:
    """Every organization of the platform, by name (site admins); `search` matches name or slug."""
    require_site_admin(meta.principal, "Only site administrators list every organization.")
    stmt = select(Organization)
    if search and search.strip():
        pattern = "%" + search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Organization.name.ilike(pattern), Organization.slug.ilike(pattern)))
    async with runtime.transaction() as session:
        return await paginate(
            session,
            stmt,
            sort_columns=(Organization.name, Organization.id),
            page=page,
            max_page_size=runtime.settings.graphql.max_page_size,
            cursor_kinds=(str, uuid.UUID),
        )
