"""A secret from a setting, or (outside production) a random one made once and kept under the data dir.

Several keys follow this rule (the content URL key, the lab proxy's cookie key, the service-token secret):
production must configure each; a developer's machine gets a random 64-hex-character key in
the data dir (0600, e.g. `keys/content-url.key`) on first use, shared by every process of the platform.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from subgraphs.core.settings import Settings


def configured_or_local_secret(settings: Settings, configured: str, *, env_var: str, key_file: Path) -> str:
    """`configured` when set; else, outside production, the key in <data_dir>/<key_file> (made on first
    use). Raises RuntimeError in production when `configured` is empty (`env_var` names the setting)."""
    if configured:
        return configured
    if settings.is_production:
        raise RuntimeError(f"{env_var} is required in production")
    path = settings.data_dir / key_file
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    secret = path.read_text().strip()
    if len(secret) < 32:  # a torn write of a crashed first start
        raise RuntimeError(f"{path} holds no usable key; delete it to make a new one")
    return secret
