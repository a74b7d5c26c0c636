"""User administration by site admins: create users, deactivate and reactivate them, change roles, list."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select

from subgraphs.contracts import users as contract
from subgraphs.core.auth import Principal, require_user
from subgraphs.core.context import RequestMeta, Runtime
from subgraphs.core.errors import Forbidden, InvalidInput, NotFound
from subgraphs.core.events import emit
from subgraphs.core.pagination import Connection, PageRequest, paginate_by_time
from subgraphs.core.rbac import Role
from subgraphs.users import passwords
from subgraphs.users.accounts import (
    account_event,
    check_full_name,
    normalize_email,
    publish_account,
    user_event,
)
from subgraphs.users.mailed_tokens import reset_mail
from subgraphs.users.models import Outbox, User
from subgraphs.users.sessions import end_redis_sessions, revoke_families


@dataclass
class UserFilter:
    role: Role | None = None
    is_active: bool | None = None
    search: str | None = None


def _require_site_admin(principal: Principal) -> None:
    require_user(principal)
    if not principal.is_site_admin:
        raise Forbidden()


async def create_user(runtime: Runtime, meta: RequestMeta, *, email: str, full_name: str, role: Role) -> User:
    """An admin-created account (exempt from the registration limit); the person sets a password by mail."""
    _require_site_admin(meta.principal)
    email = normalize_email(email)
    full_name = check_full_name(full_name)
    unusable = await passwords.hash_password(secrets.token_urlsafe(32), runtime.settings.auth)
    async with runtime.transaction() as session:
        if await session.scalar(select(User.id).where(User.email == email)):
            raise InvalidInput({"input.email": "An account with this email exists."})
        user = User(email=email, password_hash=unusable, full_name=full_name, role=role.value)
        session.add(user)
        await session.flush()
        await reset_mail(runtime.settings, session, meta, user, "Your CourseGraph account is ready")
        emit(session, Outbox, user_event(meta, contract.UserCreated(role=role.value), user_id=user.id))
    return user


async def _admin_update(
    runtime: Runtime,
    meta: RequestMeta,
    user_id: uuid.UUID,
    contract_type: type[contract.UserRoleChanged | contract.UserDeactivated | contract.UserReactivated],
    kind: str,
    **changes: Any,
) -> User:
    _require_site_admin(meta.principal)
    if user_id == meta.principal.user_id:
        raise Forbidden("Administrators cannot change their own role or deactivate themselves.")
    async with runtime.transaction() as session:
        user = await session.get(User, user_id, with_for_update=True)
        if user is None:
            raise NotFound("No such user.")
        before = {key: getattr(user, key) for key in changes}
        for key, value in changes.items():
            setattr(user, key, value)
        # Role and status are in the access token: end the sessions so the change applies now.
        families = await revoke_families(runtime, session, user_id)
        emit(
            session,
            Outbox,
            user_event(
                meta,
                contract_type(before=contract.UserFields(**before), after=contract.UserFields(**changes)),
                user_id=user_id,
            ),
        )
        message = await account_event(session, user_id, kind, **changes)
    await end_redis_sessions(runtime, families)
    await publish_account(runtime, user_id, message)
    return user


async def deactivate_user(runtime: Runtime, meta: RequestMeta, *, user_id: uuid.UUID) -> User:
    return await _admin_update(
        runtime, meta, user_id, contract.UserDeactivated, "DEACTIVATED", is_active=False
    )


async def reactivate_user(runtime: Runtime, meta: RequestMeta, *, user_id: uuid.UUID) -> User:
    return await _admin_update(
        runtime, meta, user_id, contract.UserReactivated, "REACTIVATED", is_active=True
    )


async def change_user_role(runtime: Runtime, meta: RequestMeta, *, user_id: uuid.UUID, role: Role) -> User:
    return await _admin_update(
        runtime, meta, user_id, contract.UserRoleChanged, "ROLE_CHANGED", role=role.value
    )


def _user_filter(stmt: Select, filter: UserFilter) -> Select:
    if filter.role is not None:
        stmt = stmt.where(User.role == filter.role.value)
    if filter.is_active is not None:
        stmt = stmt.where(User.is_active == filter.is_active)
    if filter.search:
        pattern = "%" + filter.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(User.email.ilike(pattern), User.full_name.ilike(pattern)))
    return stmt


async def list_users(
    runtime: Runtime,
    meta: RequestMeta,
    *,
    filter: UserFilter,
    page: PageRequest,
) -> Connection:
    _require_site_admin(meta.principal)
    async with runtime.transaction() as session:
        return await paginate_by_time(
            runtime,
            session,
            _user_filter(select(User), filter),
            (User.created_at, User.id),
            page=page,
        )
