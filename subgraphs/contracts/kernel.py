"""Events every domain emits through the kernel (the type's domain part is the emitting domain)."""

from __future__ import annotations

from subgraphs.contracts.base import EventPayload


class AuthorizationDenied(EventPayload):
    """`<domain>.authz.denied`: a field refused for lack of a permission (core/schema.py; the audit log)."""

    TYPE = "*.authz.denied"

    field: str  # the response path, e.g. "course.enrollments"
    operation: str | None
    code: str | None
    permission: str | None
    message: str


class MailRequested(EventPayload):
    """`<domain>.mail.requested`: a mail to send (core/mail.py). Its body holds one-time links: a secret."""

    TYPE = "*.mail.requested"

    to: str
    subject: str
    body: str
    kind: str  # "password_reset", "email_verification", "organization_invitation", ...
    sensitive: bool = True  # the audit log keeps nothing of a sensitive payload
