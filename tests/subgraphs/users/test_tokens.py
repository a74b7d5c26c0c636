"""Access-token attacks against the users subgraph itself (the router is tested elsewhere).

Every tampered token is minted from a *real* session's claims, and a control token minted the same way but
untampered must work — so each refusal is caused by the one property the test changes.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest
from joserfc.jwk import OKPKey

from subgraphs.users.keys import SigningKeys, rotate_keys
from tests.subgraphs.users.test_auth_flow import login, register_verified
from tests.tokens import (
    b64url,
    b64url_decode,
    b64url_json,
    claims_of,
    fresh,
    header_of,
    sign_ed25519,
    sign_hs256,
)

ME = "{ me { id } }"

# joserfc flags "EdDSA" (RFC 9864); the platform pins it on purpose (core/auth.py).
pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")


@pytest.fixture
def signing_keys(settings) -> SigningKeys:
    return SigningKeys(settings)


@pytest.fixture
async def session_claims(gql, mailbox, unique_email) -> dict[str, Any]:
    """The claims of a live session's access token (its sid is active in Redis)."""
    email = unique_email("tokens")
    await register_verified(gql, mailbox, email)
    signed_in = await login(gql, email)
    return claims_of(signed_in["accessToken"])


async def assert_refused(gql, token: str | None = None, *, authorization: str | None = None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else None
    response = await gql.raw(ME, token=token, headers=headers)
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "INVALID_TOKEN", body
    assert body["data"] is None


async def test_accept_control_token_minted_with_the_active_key(gql, signing_keys, session_claims):
    token = sign_ed25519(signing_keys.private, fresh(session_claims), kid=signing_keys.active_kid)
    body = await gql(ME, token=token)
    assert body["data"]["me"]["id"] == session_claims["sub"], body


async def test_accept_valid_issued_token(gql, mailbox, unique_email):
    email = unique_email("tokens")
    await register_verified(gql, mailbox, email)
    signed_in = await login(gql, email)
    body = await gql(ME, token=signed_in["accessToken"])
    assert body["data"]["me"]["id"] == signed_in["user"]["id"]
    header = header_of(signed_in["accessToken"])
    assert header["alg"] == "EdDSA" and header["kid"]


async def test_refuse_alg_none(gql, signing_keys, session_claims):
    for alg in ("none", "None", "NONE"):
        header = {"alg": alg, "kid": signing_keys.active_kid, "typ": "JWT"}
        token = f"{b64url_json(header)}.{b64url_json(fresh(session_claims))}."
        await assert_refused(gql, token)


async def test_refuse_alg_none_with_eddsa_signature_stripped(gql, signing_keys, session_claims):
    """A valid token with its signature cut off."""
    token = sign_ed25519(signing_keys.private, fresh(session_claims), kid=signing_keys.active_kid)
    await assert_refused(gql, token.rsplit(".", 1)[0] + ".")


async def test_refuse_hs256_signed_with_public_key(gql, http, signing_keys, session_claims):
    jwks = (await http.get("/.well-known/jwks.json")).json()
    active = next(key for key in jwks["keys"] if key["kid"] == signing_keys.active_kid)
    claims = fresh(session_claims)
    # The classic algorithm confusion: the public key as HMAC secret (JWKS text, raw bytes, the JWK JSON).
    for secret in (active["x"].encode(), b64url_decode(active["x"]), json.dumps(active).encode()):
        await assert_refused(gql, sign_hs256(secret, claims, kid=signing_keys.active_kid))


async def test_refuse_unknown_kid(gql, signing_keys, session_claims):
    stranger = OKPKey.generate_key("Ed25519", parameters={"kid": "not-a-known-kid"})
    await assert_refused(gql, sign_ed25519(stranger, fresh(session_claims), kid="not-a-known-kid"))
    # Our own key, but a kid the JWKS does not list.
    key = signing_keys.private.get_by_kid(signing_keys.active_kid)
    await assert_refused(gql, sign_ed25519(key, fresh(session_claims), kid="unknown-kid-of-our-key"))


async def test_refuse_wrong_issuer(gql, signing_keys, session_claims):
    token = sign_ed25519(
        signing_keys.private, fresh(session_claims, iss="https://evil.example"), kid=signing_keys.active_kid
    )
    await assert_refused(gql, token)


async def test_refuse_missing_issuer(gql, signing_keys, session_claims):
    claims = fresh(session_claims)
    del claims["iss"]
    await assert_refused(gql, sign_ed25519(signing_keys.private, claims, kid=signing_keys.active_kid))


async def test_refuse_wrong_audience(gql, signing_keys, session_claims):
    for aud in ("another-api", ["another-api"]):
        token = sign_ed25519(
            signing_keys.private, fresh(session_claims, aud=aud), kid=signing_keys.active_kid
        )
        await assert_refused(gql, token)


async def test_refuse_expired_beyond_leeway(gql, signing_keys, session_claims):
    now = int(time.time())
    claims = fresh(session_claims, iat=now - 1000, nbf=now - 1000, exp=now - 60)
    await assert_refused(gql, sign_ed25519(signing_keys.private, claims, kid=signing_keys.active_kid))


async def test_refuse_missing_exp(gql, signing_keys, session_claims):
    claims = fresh(session_claims)
    del claims["exp"]
    await assert_refused(gql, sign_ed25519(signing_keys.private, claims, kid=signing_keys.active_kid))


async def test_refuse_not_yet_valid(gql, signing_keys, session_claims):
    now = int(time.time())
    claims = fresh(session_claims, nbf=now + 120, exp=now + 900)
    await assert_refused(gql, sign_ed25519(signing_keys.private, claims, kid=signing_keys.active_kid))


async def test_refuse_other_ed25519_key_with_known_kid(gql, signing_keys, session_claims):
    impostor = OKPKey.generate_key("Ed25519", parameters={"kid": signing_keys.active_kid})
    await assert_refused(gql, sign_ed25519(impostor, fresh(session_claims), kid=signing_keys.active_kid))


async def test_refuse_tampered_claims(gql, signing_keys, session_claims):
    """A genuine token whose payload was edited (student -> site admin) fails its signature."""
    token = sign_ed25519(signing_keys.private, fresh(session_claims), kid=signing_keys.active_kid)
    header, _, signature = token.split(".")
    forged = f"{header}.{b64url_json(fresh(session_claims, role='site_admin'))}.{signature}"
    await assert_refused(gql, forged)


async def test_refuse_garbage(gql):
    for garbage in (
        "garbage",
        "a.b.c",
        "....",
        "eyJhbGciOiJFZERTQSJ9",
        "Zm9v.YmFy.YmF6",
        "Bearer",
        "x" * 10_000,
    ):
        await assert_refused(gql, garbage)


async def test_refuse_non_object_header(users_app):
    """A header that is valid base64 JSON but not an object (here `[1]`) must be a 401, not a crash."""
    transport = httpx.ASGITransport(app=users_app, client=("127.0.0.1", 50000), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://users.test") as client:
        for header in ("[1]", '"EdDSA"', "1", "null"):
            token = f"{b64url(header.encode())}.{b64url_json({'sub': 'x'})}.c2ln"
            response = await client.post(
                "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 401, (header, response.status_code, response.text)
            assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_TOKEN"


async def test_refuse_basic_authorization(gql, signing_keys, session_claims):
    await assert_refused(gql, authorization="Basic " + base64.b64encode(b"user:password").decode())
    # Even a valid JWT is refused under another scheme.
    token = sign_ed25519(signing_keys.private, fresh(session_claims), kid=signing_keys.active_kid)
    await assert_refused(gql, authorization=f"Token {token}")


async def test_refuse_genuine_signature_under_another_alg(gql, signing_keys, session_claims):
    """The algorithm is pinned on the header: a genuine EdDSA signature under another `alg` is refused."""
    claims = fresh(session_claims)
    token = sign_ed25519(signing_keys.private, claims, kid=signing_keys.active_kid)
    _, payload, signature = token.split(".")
    for alg in ("HS256", "RS256", "ES256", "Ed25519"):
        header = b64url_json({"alg": alg, "kid": signing_keys.active_kid, "typ": "JWT"})
        await assert_refused(gql, f"{header}.{payload}.{signature}")


async def test_jwks_lists_public_keys_only(http, signing_keys):
    response = await http.get("/.well-known/jwks.json")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert keys, "the JWKS is empty"
    assert signing_keys.active_kid in {key["kid"] for key in keys}
    for key in keys:
        assert "d" not in key, f"private key material published: {sorted(key)}"
        assert key["kty"] == "OKP" and key["crv"] == "Ed25519"
        assert set(key) <= {"kty", "crv", "x", "kid", "use", "alg"}, sorted(key)


async def test_rotate_keys_keeps_old_tokens_and_signs_with_new_kid(
    gql, http, mailbox, unique_email, settings
):
    email = unique_email("rotation")
    await register_verified(gql, mailbox, email)
    before = await login(gql, email)
    old_kid = header_of(before["accessToken"])["kid"]

    new_kid = rotate_keys(settings.auth.signing_keys_file)
    assert new_kid != old_kid

    # Issued before the rotation: still accepted.
    still = await gql(ME, token=before["accessToken"])
    assert still["data"]["me"]["id"] == before["user"]["id"], still

    # Issued after: signed by the new key, and accepted.
    after = await login(gql, email)
    assert header_of(after["accessToken"])["kid"] == new_kid
    body = await gql(ME, token=after["accessToken"])
    assert body["data"]["me"]["id"] == before["user"]["id"], body

    # Refreshing also signs with the new key.
    refreshed = await gql(
        """mutation($t: String!) { refreshToken(input: {refreshToken: $t}) {
          ... on RefreshTokenSuccess { accessToken } } }""",
        {"t": before["refreshToken"]},
    )
    assert header_of(refreshed["data"]["refreshToken"]["accessToken"])["kid"] == new_kid

    # Both keys are published, still without private parts.
    jwks = (await http.get("/.well-known/jwks.json")).json()["keys"]
    kids = {key["kid"] for key in jwks}
    assert {old_kid, new_kid} <= kids
    assert all("d" not in key for key in jwks)
