"""Password hashing: argon2id (pwdlib); bcrypt hashes from older systems verify and are upgraded."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher

from subgraphs.core.settings import AuthSettings

MAX_PASSWORD_LENGTH = 256  # bounds hashing work per request


@lru_cache
def _hasher(memory_kib: int, time_cost: int) -> PasswordHash:
    return PasswordHash((Argon2Hasher(memory_cost=memory_kib, time_cost=time_cost), BcryptHasher()))


@lru_cache
def _dummy_hash(memory_kib: int, time_cost: int) -> str:
    return _hasher(memory_kib, time_cost).hash("not-a-real-password")


async def hash_password(password: str, settings: AuthSettings) -> str:
    hasher = _hasher(settings.argon2_memory_kib, settings.argon2_time_cost)
    return await asyncio.to_thread(hasher.hash, password)


async def verify_password(
    password: str, stored: str | None, settings: AuthSettings
) -> tuple[bool, str | None]:
    """(valid, upgraded hash or None). With no stored hash it still spends the same time, so response
    timing does not tell whether an account exists."""
    cost = (settings.argon2_memory_kib, settings.argon2_time_cost)
    hasher = _hasher(*cost)
    return await asyncio.to_thread(hasher.verify_and_update, password, stored or _dummy_hash(*cost))
