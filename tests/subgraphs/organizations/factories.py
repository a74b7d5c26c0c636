"""Test data of the organizations domain: signed-in principals (tokens signed with the platform's keys, a
live session in Redis, exactly as the users subgraph issues them), organizations and memberships."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis

from subgraphs.core import rbac
from subgraphs.core.auth import SESSION_KEY, Principal
from subgraphs.core.context import RequestMeta
from subgraphs.core.db import utcnow
from subgraphs.core.rbac import Role
from subgraphs.core.settings import Settings
from subgraphs.organizations import invitations, tenants
from subgraphs.organizations.authz import project_user
from subgraphs.organizations.models import Invitation, Membership
from subgraphs.users.keys import SigningKeys
from subgraphs.users.tokens import issue_client_token, issue_user_token


@dataclass
class Caller:
    token: str
    principal: Principal
    redis: Redis

    @property
    def id(self) -> str:
        assert self.principal.subject is not None
        return self.principal.subject

    @property
    def meta(self) -> RequestMeta:
        # A fresh memberships reader each time, as each request has its own.
        caller = rbac.Caller.of(self.principal, self.redis)
        return RequestMeta(caller, request_id=uuid.uuid4().hex, client_ip="203.0.113.7")


class Minter:
    def __init__(self, settings: Settings, runtime: Any) -> None:
        self.settings = settings
        self.runtime = runtime
        self.keys = SigningKeys(settings)

    async def user(self, role: str = "student", *, email_verified: bool = True) -> Caller:
        user_id, session_id = uuid.uuid4(), uuid.uuid4()
        token = issue_user_token(
            self.keys,
            self.settings,
            user_id=user_id,
            role=Role(role),
            session_id=session_id,
            orgs=[],
            email_verified=email_verified,
        )
        await self.runtime.redis.set(SESSION_KEY.format(sid=session_id), str(user_id), ex=3600)
        return Caller(token, await self.runtime.verifier.verify(token), self.runtime.redis)

    async def client(self, organization_id: Any, scopes: list[str]) -> Caller:
        token = issue_client_token(
            self.keys,
            self.settings,
            client_id=f"cg_test{uuid.uuid4().hex[:12]}",
            organization_id=uuid.UUID(str(organization_id)),
            scopes=scopes,
        )
        return Caller(token, await self.runtime.verifier.verify(token), self.runtime.redis)

    async def organization(self, admin: Caller, *, name: str = "Acme Academy") -> str:
        """A new organization whose admin is `admin` (through the service, as createOrganization does)."""
        org = await tenants.create_organization(
            self.runtime, admin.meta, name=name, slug=f"org-{uuid.uuid4().hex[:12]}", description="Test org"
        )
        return str(org.id)

    async def member(
        self, organization_id: Any, role: str = "student", *, platform_role: str = "student"
    ) -> Caller:
        """A new user who is a member of the organization with `role` (row + projection, as a join does)."""
        caller = await self.user(platform_role)
        await self.add(organization_id, caller.id, role)
        return caller

    async def add(self, organization_id: Any, user_id: Any, role: str) -> None:
        async with self.runtime.transaction() as session:
            session.add(
                Membership(
                    organization_id=uuid.UUID(str(organization_id)),
                    user_id=uuid.UUID(str(user_id)),
                    role=role,
                )
            )
        await project_user(self.runtime.sessionmaker, self.runtime.redis, uuid.UUID(str(user_id)))

    async def invitation(self, organization_id: Any, role: str = "student") -> str:
        """A pending invitation's token (as if read from its mail)."""
        token = secrets.token_urlsafe(32)
        async with self.runtime.transaction() as session:
            session.add(
                Invitation(
                    organization_id=uuid.UUID(str(organization_id)),
                    email=f"invited-{uuid.uuid4().hex[:8]}@learners.coursegraph.dev",
                    role=role,
                    token_hash=invitations.hash_token(token),
                    expires_at=utcnow() + timedelta(days=1),
                )
            )
        return token
