"""Short-lived signed URLs for uploads and downloads (`/content/...` on the router's origin).

A URL is its path (which names exactly one upload, or one version of one item), an expiry and an
HMAC-SHA256 over method, path and expiry: changing any of them, or using an upload URL to download, breaks
the signature. The URL is the credential (a browser follows a link without our token), so it is minted
only for callers allowed to use it, and the route still checks the item exists and is not deleted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from pathlib import Path
from typing import Any

from subgraphs.core.local_secrets import configured_or_local_secret
from subgraphs.core.settings import Settings

KEY_FILE = Path("keys") / "content-url.key"  # under the data dir, outside production


def url_key(settings: Settings) -> bytes:
    """From `content.url_secret` (required in production), else a random key kept in the data dir."""
    secret = configured_or_local_secret(
        settings, settings.content.url_secret, env_var="COURSEGRAPH_CONTENT__URL_SECRET", key_file=KEY_FILE
    )
    return hashlib.sha256(b"coursegraph-content-url:" + secret.encode()).digest()


def _signature(key: bytes, method: str, path: str, expires: int, subject: str) -> str:
    mac = hmac.new(key, f"{method}\n{path}\n{expires}\n{subject}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def sign(key: bytes, method: str, path: str, ttl_seconds: int, *, subject: str = "") -> str:
    """`path?expires=...[&by=<subject>]&signature=...`; `subject`: who it was made for (the download event's
    actor), signed with the rest."""
    expires = int(time.time() + ttl_seconds)
    params: dict[str, Any] = {"expires": expires}
    if subject:
        params["by"] = subject
    params["signature"] = _signature(key, method, path, expires, subject)
    return f"{path}?{urllib.parse.urlencode(params)}"


class BadSignature(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def verify(
    key: bytes, method: str, path: str, expires: str | None, signature: str | None, subject: str = ""
) -> None:
    """Raise BadSignature unless the signature is ours for exactly this method, path and subject, and the
    link has not expired."""
    if not expires or not signature or not expires.isdigit():
        raise BadSignature("This link is not signed.")
    expected = _signature(key, method, path, int(expires), subject)
    if not hmac.compare_digest(expected, signature):
        raise BadSignature("This link's signature does not match.")
    if int(expires) < time.time():
        raise BadSignature("This link has expired.")
