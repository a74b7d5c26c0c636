"""Mail delivery: the consumer speaks real SMTP (to a local aiosmtpd server) and writes dev files."""

from __future__ import annotations

import asyncio
import email

from aiosmtpd.controller import Controller

from subgraphs.core.mail import MailConsumer, mail_event, web_link
from subgraphs.core.settings import MailSettings
from tests.services import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.received = asyncio.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        self.received.set()
        return "250 OK"


async def test_mail_consumer_delivers_over_smtp(runtime):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = MailSettings(
            backend="smtp",
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_starttls=False,
            sender="CourseGraph <no-reply@coursegraph.dev>",
        )
        consumer = MailConsumer(runtime.redis, settings)
        event = mail_event(
            "users", to="ada@coursegraph.dev", subject="Hello", body="Token: abc\n", kind="verify_email"
        )
        await consumer.handle(event)
        await asyncio.wait_for(inbox.received.wait(), 10)
    finally:
        controller.stop()
    sender, recipients, content = inbox.messages[0]
    message = email.message_from_bytes(content)
    assert sender == "no-reply@coursegraph.dev" and recipients == ["ada@coursegraph.dev"]
    assert message["Subject"] == "Hello" and message["X-CourseGraph-Kind"] == "verify_email"
    assert message["Message-ID"] == f"<{event.id}@coursegraph>"
    assert message.get_payload().strip() == "Token: abc"


async def test_file_backend_writes_one_file_per_event(runtime, tmp_path):
    consumer = MailConsumer(runtime.redis, MailSettings(backend="file", directory=tmp_path))
    event = mail_event("users", to="ada@coursegraph.dev", subject="Hi", body="x\n", kind="verify_email")
    await consumer.handle(event)
    await consumer.handle(event)  # a redelivered event overwrites its file instead of adding one
    files = list(tmp_path.glob("*.eml"))
    assert len(files) == 1 and str(event.id) in files[0].name


async def test_links_stay_whole_in_mail_files(runtime, tmp_path):
    """A link longer than a mail line (78) is not split by quoted-printable soft breaks."""
    link = web_link(
        MailSettings(), "/invitations/accept", token="t" * 43, email="a+b@learners.coursegraph.dev"
    )
    assert link == (
        "http://127.0.0.1:4000/invitations/accept?token="
        + "t" * 43
        + "&email=a%2Bb%40learners.coursegraph.dev"
    )
    consumer = MailConsumer(runtime.redis, MailSettings(backend="file", directory=tmp_path))
    event = mail_event("users", to="ada@coursegraph.dev", subject="Hi", body=f"Open:\n{link}\n", kind="x")
    await consumer.handle(event)
    (path,) = tmp_path.glob("*.eml")
    assert f"\n{link}\n" in path.read_text()
    assert email.message_from_bytes(path.read_bytes()).get_payload() == f"Open:\n{link}\n"
