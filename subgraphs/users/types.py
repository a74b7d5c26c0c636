"""GraphQL types of the users subgraph."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry

from subgraphs.core.auth import Principal
from subgraphs.core.entities import from_row
from subgraphs.core.errors import (
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    ValidationError,
)
from subgraphs.core.federation import load_reference
from subgraphs.core.ids import to_id
from subgraphs.core.pagination import Connection
from subgraphs.core.rbac import Role
from subgraphs.users import models
from subgraphs.users.errors import InvalidCredentialsError, InvalidTokenError

# The GraphQL enum: strawberry.enum registers the kernel's Role class itself (and returns it).
strawberry.enum(Role, name="Role", description="Platform role; organization roles come from memberships.")


def _shown_to_self(column: str) -> Any:
    """A field of a user's row that only the user and site admins see (the field's type is its annotation)."""

    def resolve(root: User) -> Any:
        return getattr(root._row, column) if root._visible else None

    return strawberry.field(
        resolver=resolve, description="Visible to the user and to site admins; null for everyone else."
    )


@strawberry.federation.type(keys=["id"], description="A person with a CourseGraph account.")
class User:
    id: strawberry.ID
    full_name: str
    role: Role
    created_at: datetime
    _row: strawberry.Private[models.User]
    _visible: strawberry.Private[bool]
    email: str | None = _shown_to_self("email")
    is_active: bool | None = _shown_to_self("is_active")
    email_verified: bool | None = _shown_to_self("email_verified")
    last_login_at: datetime | None = _shown_to_self("last_login_at")

    @classmethod
    def from_model(cls, row: models.User, viewer: Principal) -> User:
        return cls._build(row, visible=viewer.is_site_admin or viewer.user_id == row.id)

    @classmethod
    def own(cls, row: models.User) -> User:
        """For a caller who just proved to be this user (signed in, or used a mailed token)."""
        return cls._build(row, visible=True)

    @classmethod
    def _build(cls, row: models.User, *, visible: bool) -> User:
        return from_row(cls, row, role=Role(row.role), _visible=visible)

    @classmethod
    async def resolve_reference(cls, info: strawberry.Info, id: strawberry.ID) -> User | None:
        """Any signed-in caller may see a user's public profile (name, role); anonymous callers nothing."""
        row = await load_reference(info, info.context.loaders.user_by_id, id)
        return cls.from_model(row, info.context.principal) if row else None


@strawberry.type(description="An OAuth2 client-credentials integration of an organization.")
class ApiClient:
    id: strawberry.ID
    client_id: str
    name: str
    organization_id: strawberry.ID
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def from_model(cls, row: models.ApiClient) -> ApiClient:
        return from_row(cls, row, organization_id=to_id(row.organization_id), scopes=list(row.scopes))


@strawberry.type
class AccountEvent:
    seq: int
    at: datetime
    kind: str = strawberry.field(
        description="SIGNED_IN, SIGNED_OUT, PASSWORD_CHANGED, SESSIONS_REVOKED, EMAIL_VERIFIED, "
        "ROLE_CHANGED, DEACTIVATED or REACTIVATED."
    )
    detail: strawberry.scalars.JSON


UserConnection = Connection[User]

# --- inputs ---------------------------------------------------------------------------------------


@strawberry.input
class RegisterInput:
    email: str
    password: str
    full_name: str


@strawberry.input
class LoginInput:
    email: str
    password: str


@strawberry.input
class RefreshTokenInput:
    refresh_token: str


@strawberry.input
class LogoutInput:
    all_sessions: bool = strawberry.field(default=False, description="Sign out on every device.")


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str


@strawberry.input
class RequestEmailVerificationInput:
    email: str


@strawberry.input
class VerifyEmailInput:
    token: str


@strawberry.input
class RequestPasswordResetInput:
    email: str


@strawberry.input
class ResetPasswordInput:
    token: str
    new_password: str


@strawberry.input
class UserFilter:
    role: Role | None = None
    is_active: bool | None = None
    search: str | None = strawberry.field(default=None, description="Part of the email or name.")


@strawberry.input
class CreateUserInput:
    email: str
    full_name: str
    role: Role = Role.STUDENT


@strawberry.input
class UserIdInput:
    user_id: strawberry.ID


@strawberry.input
class ChangeUserRoleInput:
    user_id: strawberry.ID
    role: Role


@strawberry.input
class CreateApiClientInput:
    organization_id: strawberry.ID
    name: str
    scopes: list[str]


@strawberry.input
class RevokeApiClientInput:
    id: strawberry.ID


# --- results --------------------------------------------------------------------------------------


@strawberry.type
class LoginSuccess:
    access_token: str
    refresh_token: str
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")
    user: User


@strawberry.type
class RefreshTokenSuccess:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User


@strawberry.type
class MessageSuccess:
    message: str


@strawberry.type
class LogoutSuccess:
    revoked_sessions: int


@strawberry.type
class UserSuccess:
    user: User


@strawberry.type
class CreateApiClientSuccess:
    api_client: ApiClient
    client_secret: str = strawberry.field(description="Shown once; store it now. Only its hash is kept.")


@strawberry.type
class ApiClientSuccess:
    api_client: ApiClient


RegisterResult = Annotated[
    MessageSuccess | ValidationError | RateLimitedError, strawberry.union("RegisterResult")
]
LoginResult = Annotated[
    LoginSuccess | InvalidCredentialsError | ValidationError | RateLimitedError,
    strawberry.union("LoginResult"),
]
RefreshTokenResult = Annotated[
    RefreshTokenSuccess | InvalidTokenError, strawberry.union("RefreshTokenResult")
]
ChangePasswordResult = Annotated[
    MessageSuccess | InvalidCredentialsError | ValidationError | RateLimitedError,
    strawberry.union("ChangePasswordResult"),
]
RequestMailResult = Annotated[
    MessageSuccess | ValidationError | RateLimitedError, strawberry.union("RequestMailResult")
]
VerifyEmailResult = Annotated[UserSuccess | InvalidTokenError, strawberry.union("VerifyEmailResult")]
ResetPasswordResult = Annotated[
    MessageSuccess | InvalidTokenError | ValidationError | RateLimitedError,
    strawberry.union("ResetPasswordResult"),
]
AdminUserResult = Annotated[
    UserSuccess | NotFoundError | ForbiddenError | ValidationError, strawberry.union("AdminUserResult")
]
CreateApiClientResult = Annotated[
    CreateApiClientSuccess | ForbiddenError | ValidationError, strawberry.union("CreateApiClientResult")
]
RevokeApiClientResult = Annotated[ApiClientSuccess | NotFoundError, strawberry.union("RevokeApiClientResult")]
