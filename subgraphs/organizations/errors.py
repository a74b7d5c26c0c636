"""Error types and codes of the organizations domain."""

from __future__ import annotations

from enum import StrEnum

import strawberry

from subgraphs.core.errors import Conflict, DomainError, Error, Forbidden


class OrganizationErrorCode(StrEnum):
    SLUG_TAKEN = "SLUG_TAKEN"
    ALREADY_MEMBER = "ALREADY_MEMBER"
    LAST_ADMIN = "LAST_ADMIN"
    INVALID_INVITATION = "INVALID_INVITATION"
    EMAIL_NOT_VERIFIED = "EMAIL_NOT_VERIFIED"
    NOT_A_PERMUTATION = "NOT_A_PERMUTATION"


@strawberry.type
class InvalidInvitationError(Error):
    pass


class SlugTaken(Conflict):
    default_code = OrganizationErrorCode.SLUG_TAKEN.value
    default_message = "Another organization uses this slug."


class AlreadyMember(Conflict):
    default_code = OrganizationErrorCode.ALREADY_MEMBER.value
    default_message = "You are already a member of this organization."


class LastAdmin(Conflict):
    default_code = OrganizationErrorCode.LAST_ADMIN.value
    default_message = "An organization keeps at least one administrator."


class EmailNotVerified(Forbidden):
    default_code = OrganizationErrorCode.EMAIL_NOT_VERIFIED.value
    default_message = "Verify your email address first (then sign in again)."


class InvalidInvitation(DomainError):
    """Unknown, used, superseded or expired invitation token: one answer for all."""

    graphql_type = InvalidInvitationError
    default_code = OrganizationErrorCode.INVALID_INVITATION.value
    default_message = "This invitation is invalid or has expired."


ORGANIZATIONS_ERRORS: tuple[type[DomainError], ...] = (InvalidInvitation,)
