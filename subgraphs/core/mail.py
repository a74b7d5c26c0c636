"""Outgoing mail: services emit a `<domain>.mail.requested` event in their transaction (the outbox makes
sure a committed change always gets its mail); the worker's `MailConsumer` delivers it.

Mail events carry one-time links, so their payload is a secret: consumers other than this one (the
audit log) must record only the event type and subject ids, never the payload.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiosmtplib
from redis.asyncio import Redis

from subgraphs.contracts.base import parse_as
from subgraphs.contracts.kernel import MailRequested
from subgraphs.core.domains import DOMAINS
from subgraphs.core.events import Consumer, Event, stream_name
from subgraphs.core.settings import MailSettings

log = logging.getLogger("coursegraph.mail")

MAIL_EVENT_SUFFIX = ".mail.requested"


def web_link(mail: MailSettings, path: str, **params: str) -> str:
    """A link to a page of the web app, at the router's public origin (`mail.web_base_url`). The pages and
    their parameters are a contract with the app (docs/domains/users.md, "Links in mails")."""
    return f"{mail.web_base_url.rstrip('/')}{path}?{urlencode(params)}"


def mail_event(
    domain: str,
    *,
    to: str,
    subject: str,
    body: str,
    kind: str,
    request_id: str | None = None,
    organization_id: str | None = None,
) -> Event:
    payload = MailRequested(to=to, subject=subject, body=body, kind=kind, sensitive=True)
    return Event(
        type=payload.event_type(domain),
        payload=payload.wire(),
        request_id=request_id,
        organization_id=organization_id,
    )


def build_message(event: Event, sender: str) -> EmailMessage:
    mail = parse_as(event, MailRequested)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = f"<{event.id}@coursegraph>"
    message["X-CourseGraph-Kind"] = mail.kind
    body = mail.body
    # ASCII bodies go as 7bit: quoted-printable would split long links with "=" in .eml files and plain
    # readers. Other text keeps the automatic encoding.
    if body.isascii():
        message.set_content(body, cte="7bit")
    else:
        message.set_content(body)
    return message


class MailConsumer(Consumer):
    """Delivers the mail events of every domain's stream."""

    group = "mail"

    def __init__(self, redis: Redis, settings: MailSettings, **kwargs: Any) -> None:
        super().__init__(redis, **kwargs)
        # pyright: ignore: a ClassVar elsewhere; this consumer reads every domain's stream, known at run time.
        self.streams = tuple(stream_name(domain) for domain in DOMAINS)  # pyright: ignore[reportAttributeAccessIssue]
        self._settings = settings

    async def handle(self, event: Event) -> None:
        if not event.type.endswith(MAIL_EVENT_SUFFIX):
            return
        message = build_message(event, self._settings.sender)
        if self._settings.backend == "smtp":
            await aiosmtplib.send(
                message,
                hostname=self._settings.smtp_host,
                port=self._settings.smtp_port,
                username=self._settings.smtp_username or None,
                password=self._settings.smtp_password or None,
                start_tls=self._settings.smtp_starttls,
            )
        else:
            write_to_folder(message, self._settings.directory, event)
        log.info("mail %s sent to %s: %s", message["X-CourseGraph-Kind"], message["To"], message["Subject"])


def write_to_folder(message: EmailMessage, directory: Path, event: Event) -> Path:
    """Dev/test delivery: one .eml per event id (a redelivered event overwrites, never duplicates)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{event.occurred_at:%Y%m%dT%H%M%S}-{event.id}.eml"
    path.write_bytes(bytes(message))
    return path
