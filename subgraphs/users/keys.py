"""The token signing keys: an Ed25519 JWK set in a file (a mounted secret in production).

The newest key signs; every key in the set verifies and is published in the JWKS, so rotating (adding a
new key) logs nobody out. Keys older than the newest `KEEP` are dropped — by then every token they signed
has long expired (access tokens live 15 minutes).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

from joserfc.jwk import KeySet, KeySetSerialization, OKPKey

from subgraphs.core.auth import ALGORITHM
from subgraphs.core.settings import Settings

KEEP = 3


def _write(path: Path, keys: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"keys": keys}, fh, indent=2)
    tmp.replace(path)  # atomic: readers never see half a file


def rotate_keys(path: Path) -> str:
    """Add a new signing key (it signs from now on); returns its kid."""
    existing = json.loads(path.read_text())["keys"] if path.exists() else []
    kid = f"{time.strftime('%Y%m%d')}-{uuid.uuid4().hex[:8]}"
    key = OKPKey.generate_key("Ed25519", parameters={"kid": kid, "use": "sig", "alg": ALGORITHM})
    _write(path, [*existing, key.as_dict(private=True)][-KEEP:])
    return kid


class SigningKeys:
    """Reads the key file, re-reading it when it changes (rotation needs no restart)."""

    def __init__(self, settings: Settings) -> None:
        self._path = settings.auth.signing_keys_file
        if not self._path.exists():
            if settings.is_production:
                raise RuntimeError(
                    f"signing key file {self._path} is missing; create it with `coursegraph keys rotate`"
                )
            rotate_keys(self._path)
        self._mtime = 0.0
        self._private = KeySet([])
        self._public = KeySet([])
        self._active_kid = ""
        self._reload()

    def _reload(self) -> None:
        mtime = self._path.stat().st_mtime
        if mtime == self._mtime:
            return
        data = json.loads(self._path.read_text())["keys"]
        self._private = KeySet.import_key_set({"keys": data})
        self._public = KeySet.import_key_set(self._private.as_dict(private=False))
        self._active_kid = data[-1]["kid"]
        self._mtime = mtime

    @property
    def private(self) -> KeySet:
        self._reload()
        return self._private

    @property
    def active_kid(self) -> str:
        self._reload()
        return self._active_kid

    def public_jwks(self) -> KeySetSerialization:
        self._reload()
        return self._public.as_dict(private=False)

    async def get_public(self, *, kid: str | None = None) -> KeySet:
        """The key loader the users subgraph verifies with (no HTTP round trip to itself)."""
        self._reload()
        return self._public
