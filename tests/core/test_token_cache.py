"""TokenVerifier remembers a verified token only while the same text would verify again."""

from __future__ import annotations

import time

import pytest
from joserfc.jwk import KeySet, OKPKey

from subgraphs.core.auth import InvalidAccessToken, TokenVerifier
from subgraphs.core.settings import Settings
from tests.tokens import sign_ed25519


class Keys:
    def __init__(self) -> None:
        self.key = OKPKey.generate_key("Ed25519", parameters={"kid": "k1"})
        self.published = KeySet([self.key])
        self.fetches = 0

    async def get(self, *, kid: str | None = None) -> KeySet:
        self.fetches += 1
        return self.published


def claims(settings: Settings, **changes: object) -> dict:
    now = int(time.time())
    return {
        "iss": settings.auth.issuer,
        "aud": settings.auth.audience,
        "sub": "00000000-0000-0000-0000-000000000001",
        "role": "student",
        "sid": "s1",
        "iat": now,
        "exp": now + 600,
        **changes,
    }


async def test_a_remembered_token_gives_the_same_principal(settings: Settings) -> None:
    keys = Keys()
    verifier = TokenVerifier(settings, keys.get)
    token = sign_ed25519(keys.key, claims(settings), kid="k1")
    first = await verifier.verify(token)
    assert await verifier.verify(token) == first
    other = sign_ed25519(keys.key, claims(settings, sub="00000000-0000-0000-0000-000000000002"), kid="k1")
    assert (await verifier.verify(other)).subject != first.subject  # keyed by the whole token


async def test_a_remembered_token_still_expires(settings: Settings, monkeypatch) -> None:
    keys = Keys()
    verifier = TokenVerifier(settings, keys.get)
    token = sign_ed25519(keys.key, claims(settings, exp=int(time.time()) + 60), kid="k1")
    await verifier.verify(token)
    later = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(InvalidAccessToken):
        await verifier.verify(token)


async def test_a_remembered_token_dies_with_its_key(settings: Settings) -> None:
    keys = Keys()
    verifier = TokenVerifier(settings, keys.get)
    token = sign_ed25519(keys.key, claims(settings), kid="k1")
    await verifier.verify(token)
    keys.published = KeySet([OKPKey.generate_key("Ed25519", parameters={"kid": "k2"})])  # k1 withdrawn
    with pytest.raises(InvalidAccessToken):
        await verifier.verify(token)


async def test_a_refused_token_is_not_remembered(settings: Settings) -> None:
    keys = Keys()
    verifier = TokenVerifier(settings, keys.get)
    token = sign_ed25519(keys.key, claims(settings, aud="someone-else"), kid="k1")
    for _ in range(2):
        with pytest.raises(InvalidAccessToken):
            await verifier.verify(token)
