"""Issuing tokens: access JWTs (signed with the active key), opaque refresh and one-time tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid

from joserfc import jwt

from subgraphs.core.auth import ALGORITHM
from subgraphs.core.rbac import Role, scopes_for_role
from subgraphs.core.settings import Settings
from subgraphs.users.keys import SigningKeys


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _sign(keys: SigningKeys, claims: dict) -> str:
    header = {"alg": ALGORITHM, "kid": keys.active_kid, "typ": "JWT"}
    return jwt.encode(header, claims, keys.private, algorithms=[ALGORITHM])


def _base_claims(settings: Settings, subject: str, ttl: int) -> dict:
    now = int(time.time())
    return {
        "iss": settings.auth.issuer,
        "aud": settings.auth.audience,
        "sub": subject,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
    }


def issue_user_token(
    keys: SigningKeys,
    settings: Settings,
    *,
    user_id: uuid.UUID,
    role: Role,
    session_id: uuid.UUID,
    orgs: list[str],
    email_verified: bool = False,
) -> str:
    claims = _base_claims(settings, str(user_id), settings.auth.access_token_ttl_seconds)
    claims.update(
        sid=str(session_id),
        role=role.value,
        scope=" ".join(scopes_for_role(role)),
        orgs=orgs,
        ev=email_verified,
    )
    return _sign(keys, claims)


def issue_client_token(
    keys: SigningKeys, settings: Settings, *, client_id: str, organization_id: uuid.UUID, scopes: list[str]
) -> str:
    claims = _base_claims(settings, client_id, settings.auth.access_token_ttl_seconds)
    claims.update(client_id=client_id, scope=" ".join(sorted(scopes)), orgs=[str(organization_id)])
    return _sign(keys, claims)
