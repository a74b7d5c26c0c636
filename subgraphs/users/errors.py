"""Error types of the users domain."""

from __future__ import annotations

import strawberry

from subgraphs.core.errors import DomainError, Error, InvalidInput


@strawberry.type
class InvalidCredentialsError(Error):
    pass


@strawberry.type
class InvalidTokenError(Error):
    pass


class InvalidCredentials(DomainError):
    """Wrong email or password, unknown or inactive account: one answer for all, so nothing leaks."""

    graphql_type = InvalidCredentialsError
    default_code = "INVALID_CREDENTIALS"
    default_message = "The email or password is incorrect."


class InvalidToken(DomainError):
    """A refresh, verification or reset token that is unknown, used, revoked or expired."""

    graphql_type = InvalidTokenError
    default_code = "INVALID_TOKEN"
    default_message = "This link or token is invalid or has expired."


USERS_ERRORS = (InvalidCredentials, InvalidToken)


class WeakPassword(InvalidInput):
    """A ValidationError on the password field whose message says why (common, repetitive, personal)."""

    default_code = "WEAK_PASSWORD"
