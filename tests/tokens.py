"""Forging JWTs for the token-attack tests (subgraph and router alike)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from joserfc import jwt


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def header_of(token: str) -> dict[str, Any]:
    return json.loads(b64url_decode(token.split(".")[0]))


def claims_of(token: str) -> dict[str, Any]:
    return json.loads(b64url_decode(token.split(".")[1]))


def sign_ed25519(keys: Any, claims: dict[str, Any], *, kid: str | None) -> str:
    """`kid=None`: a header without `kid` (the verifiers must refuse it)."""
    header = {"alg": "EdDSA", "typ": "JWT", **({"kid": kid} if kid is not None else {})}
    return jwt.encode(header, claims, keys, algorithms=["EdDSA"])


def sign_hs256(secret: bytes, claims: dict[str, Any], *, kid: str) -> str:
    signing_input = f"{b64url_json({'alg': 'HS256', 'kid': kid, 'typ': 'JWT'})}.{b64url_json(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def fresh(claims: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """`claims` re-dated to be valid now (10 minutes), with `changes` applied."""
    now = int(time.time())
    return {**claims, "iat": now, "nbf": now, "exp": now + 600, **changes}
