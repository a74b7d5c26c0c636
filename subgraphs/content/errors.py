"""Typed errors of the content domain."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import strawberry

from subgraphs.core.errors import Conflict, DomainError, Error


class ContentErrorCode(StrEnum):
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    UPLOAD_EXPIRED = "UPLOAD_EXPIRED"
    UPLOAD_NOT_RECEIVED = "UPLOAD_NOT_RECEIVED"
    UPLOAD_COMPLETED = "UPLOAD_COMPLETED"


@strawberry.type(description="The organization's storage quota would be exceeded; nothing was stored.")
class QuotaExceededError(Error):
    quota_bytes: float = strawberry.field(description="Bytes (a Float: quotas pass 2^31).")
    used_bytes: float
    requested_bytes: float


class QuotaExceeded(DomainError):
    graphql_type = QuotaExceededError
    default_code = ContentErrorCode.QUOTA_EXCEEDED.value
    default_message = "This organization's storage quota would be exceeded."

    def __init__(self, quota: int, used: int, requested: int) -> None:
        self.quota, self.used, self.requested = quota, used, requested
        super().__init__()

    def details(self) -> dict[str, Any]:
        return {"quota_bytes": self.quota, "used_bytes": self.used, "requested_bytes": self.requested}


class UploadExpired(Conflict):
    default_code = ContentErrorCode.UPLOAD_EXPIRED.value
    default_message = "This upload has expired: request a new one."


class UploadNotReceived(Conflict):
    default_code = ContentErrorCode.UPLOAD_NOT_RECEIVED.value
    default_message = "No bytes were received for this upload yet: PUT the file to its URL first."


class UploadCompleted(Conflict):
    default_code = ContentErrorCode.UPLOAD_COMPLETED.value
    default_message = "This upload was already completed."


CONTENT_ERRORS: tuple[type[DomainError], ...] = (QuotaExceeded,)
