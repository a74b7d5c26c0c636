"""The events of the users domain (`events.users`)."""

from __future__ import annotations

from subgraphs.contracts.base import EventPayload


class UserRegistered(EventPayload):
    TYPE = "users.user.registered"
    role: str


class UserRegisterDuplicate(EventPayload):
    """Someone registered an address that has an account (the answer does not say so)."""

    TYPE = "users.user.register_duplicate"


class UserCreated(EventPayload):
    """A site admin created an account."""

    TYPE = "users.user.created"
    role: str


class UserPasswordChanged(EventPayload):
    TYPE = "users.user.password_changed"


class UserEmailVerified(EventPayload):
    TYPE = "users.user.email_verified"


class PasswordResetAsked(EventPayload):
    """A reset was asked for an address (which may have no account); the worker mails it if it has one."""

    TYPE = "users.password_reset.requested"
    email: str
    sensitive: bool = True  # the address of someone who may have no account: the audit log keeps nothing


class UserPasswordResetRequested(EventPayload):
    """The worker mailed a reset link to an account."""

    TYPE = "users.user.password_reset_requested"


class UserPasswordReset(EventPayload):
    TYPE = "users.user.password_reset"


class UserFields(EventPayload):
    """The fields an administrator changes, as they were or became (only those that changed are set)."""

    role: str | None = None
    is_active: bool | None = None


class _AdminChange(EventPayload):
    before: UserFields
    after: UserFields


class UserRoleChanged(_AdminChange):
    TYPE = "users.user.role_changed"


class UserDeactivated(_AdminChange):
    TYPE = "users.user.deactivated"


class UserReactivated(_AdminChange):
    TYPE = "users.user.reactivated"


class LoginSucceeded(EventPayload):
    TYPE = "users.auth.login_succeeded"
    session_id: str


class LoginFailed(EventPayload):
    TYPE = "users.auth.login_failed"
    reason: str


class RefreshReused(EventPayload):
    """A rotated refresh token came back: its whole family (session) is revoked."""

    TYPE = "users.auth.refresh_reused"
    session_id: str


class LoggedOut(EventPayload):
    TYPE = "users.auth.logged_out"
    sessions: int  # how many sessions ended


class ApiClientCreated(EventPayload):
    TYPE = "users.api_client.created"
    client_id: str
    scopes: list[str]


class ApiClientRevoked(EventPayload):
    TYPE = "users.api_client.revoked"
    client_id: str


class ApiClientAuthFailed(EventPayload):
    TYPE = "users.api_client.auth_failed"
    client_id: str


class ApiClientTokenIssued(EventPayload):
    TYPE = "users.api_client.token_issued"
    client_id: str
    scopes: list[str]
