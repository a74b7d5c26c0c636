"""The small page a lab's URL shows while its IDE cannot be reached (starting, paused, stopped, failed):
what is going on, and the one thing to do about it — Resume (paused) or Start again (stopped, failed) — as
plain forms posted to the proxy (no script: it works under any Content-Security-Policy). Pages of labs on
their way somewhere (starting, resuming, stopping) reload themselves every few seconds.
"""

from __future__ import annotations

import html
import uuid

from subgraphs.labs.models import LabSession
from subgraphs.labs.states import S

ACTIONS = ("resume", "start")  # POST /labs/<id>/.coursegraph/<action>
ACTION_PREFIX = ".coursegraph/"
RELOAD_SECONDS = 2


def action_path(session_id: uuid.UUID, action: str) -> str:
    return f"/labs/{session_id}/{ACTION_PREFIX}{action}"


def render(row: LabSession, error: str | None = None) -> tuple[str, bool]:
    """(HTML, whether it reloads itself)."""
    status = S(row.status)
    resuming = status == S.PAUSED and row.requested_action == "RESUME"
    if status in (S.REQUESTED, S.PROVISIONING, S.STARTING) or resuming:
        title, text, action = "Your lab is starting", "It opens here by itself in a moment.", None
    elif status == S.PAUSED:
        title, text = "This lab is paused", "Your work is kept. Resume it to continue where you left off."
        action = ("resume", "Resume")
    elif status == S.STOPPING:
        title, text, action = "This lab is stopping", "Your work is kept.", None
    elif status == S.FAILED:
        reason = f" ({row.failure_reason})" if row.failure_reason else ""
        title = "This lab stopped working"
        text = f"It failed{reason}. Your work is kept: start the lab again to continue."
        action = ("start", "Start again")
    elif status == S.STOPPED:
        title, text = "This lab is stopped", "Your work is kept: start the lab again to continue."
        action = ("start", "Start again")
    else:  # RUNNING without an endpoint yet: moments from answering
        title, text, action = "Your lab is starting", "It opens here by itself in a moment.", None
    reloads = action is None and status not in (S.STOPPED, S.FAILED)
    refresh = f'<meta http-equiv="refresh" content="{RELOAD_SECONDS}">' if reloads else ""
    problem = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    button = (
        f'<form method="post" action="{html.escape(action_path(row.id, action[0]))}">'
        f'<button type="submit">{html.escape(action[1])}</button></form>'
        if action
        else ""
    )
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{refresh}<title>{html.escape(title)} · CourseGraph</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;"
        "color:#1d1d1f}button{font-size:1rem;padding:.6rem 1.4rem;border-radius:.4rem;border:0;"
        "background:#1f5fbf;color:#fff;cursor:pointer}.error{color:#a4000f}</style></head><body>"
        f"<main><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{problem}{button}"
        f'<p><small>Lab status: <span id="status">{html.escape(row.status)}</span></small></p>'
        "</main></body></html>"
    )
    return page, reloads
