"""Publishing a stream's events live after their transaction committed (see core/live.py)."""

from __future__ import annotations

import logging
from typing import Any

from subgraphs.core.context import DatabaseAccess

log = logging.getLogger("coursegraph.live")


async def publish_committed(
    runtime: DatabaseAccess, channel: str, *messages: dict[str, Any], of: str
) -> None:
    """Publish each message on `channel`. A failure is logged, not raised: the commit stands and subscribers
    re-read the stored events. `of` names the stream in the log ("export <id>")."""
    for message in messages:
        try:
            await runtime.live.publish(channel, message)
        except Exception:
            log.exception("could not publish a live event of %s", of)
