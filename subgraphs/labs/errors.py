"""Typed errors of the labs domain."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import strawberry

from subgraphs.core.errors import DomainError, Error


class LabErrorCode(StrEnum):
    CAPACITY_EXCEEDED = "LAB_CAPACITY_EXCEEDED"
    LIMIT_REACHED = "LAB_LIMIT_REACHED"
    NOT_ENROLLED = "NOT_ENROLLED"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    TEMPLATE_NOT_ALLOWED = "TEMPLATE_NOT_ALLOWED"


@strawberry.type(description="Too many labs are starting right now; nothing was created. Try again later.")
class LabCapacityExceededError(Error):
    retry_after_seconds: int


@strawberry.enum(description="Which running-lab limit was reached.")
class LabLimitScope(StrEnum):
    USER = "USER"
    ORGANIZATION = "ORGANIZATION"


@strawberry.type(description="A running-lab limit of the organization's settings is reached.")
class LabLimitReachedError(Error):
    scope: LabLimitScope
    limit: int


@strawberry.type(description="Labs of this exercise are for students enrolled in its course.")
class NotEnrolledError(Error):
    pass


@strawberry.type(description="The session is not in a state that allows this.")
class InvalidTransitionError(Error):
    status: str = strawberry.field(description="The session's current status.")


@strawberry.type(description="No lab template of this IDE may be used by this organization.")
class TemplateNotAllowedError(Error):
    pass


class LabCapacityExceeded(DomainError):
    graphql_type = LabCapacityExceededError
    default_code = LabErrorCode.CAPACITY_EXCEEDED.value
    default_message = "Too many labs are starting right now. Try again shortly."

    def __init__(self, retry_after_seconds: int) -> None:
        self.retry_after_seconds = max(1, int(retry_after_seconds))
        super().__init__()

    def details(self) -> dict[str, Any]:
        return {"retry_after_seconds": self.retry_after_seconds}


class LabLimitReached(DomainError):
    graphql_type = LabLimitReachedError
    default_code = LabErrorCode.LIMIT_REACHED.value

    def __init__(self, scope: LabLimitScope, limit: int) -> None:
        self.scope = scope
        self.limit = limit
        who = "you have" if scope is LabLimitScope.USER else "this organization has"
        super().__init__(f"Stop a lab first: {who} reached the limit of {limit} running labs.")

    def details(self) -> dict[str, Any]:
        return {"scope": self.scope, "limit": self.limit}


class NotEnrolled(DomainError):
    graphql_type = NotEnrolledError
    default_code = LabErrorCode.NOT_ENROLLED.value
    default_message = "Enroll in this exercise's course to start its lab."


class InvalidTransition(DomainError):
    graphql_type = InvalidTransitionError
    default_code = LabErrorCode.INVALID_TRANSITION.value

    def __init__(self, status: str, action: str) -> None:
        self.status = status
        super().__init__(f"A {status} lab cannot be {action}.")

    def details(self) -> dict[str, Any]:
        return {"status": self.status}


class TemplateNotAllowed(DomainError):
    graphql_type = TemplateNotAllowedError
    default_code = LabErrorCode.TEMPLATE_NOT_ALLOWED.value
    default_message = "No lab template of this IDE is available to this organization."


LAB_ERRORS: tuple[type[DomainError], ...] = (
    LabCapacityExceeded,
    LabLimitReached,
    NotEnrolled,
    InvalidTransition,
    TemplateNotAllowed,
)
