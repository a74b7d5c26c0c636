"""Query, Mutation and Subscription of the users subgraph. Resolvers stay thin: parse, call the service."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import TypeVar

import strawberry
from strawberry.scalars import JSON

from subgraphs.core.auth import IsAuthenticated, require_user
from subgraphs.core.ids import parse_id
from subgraphs.core.live import follow, stored_after
from subgraphs.core.pagination import SIZED_BY_FIRST, PageRequest, list_size
from subgraphs.core.rbac import Permission, Role
from subgraphs.core.resolvers import (
    authenticated_field,
    authenticated_mutation,
    authenticated_subscription,
    call_service,
)
from subgraphs.core.schema import build_schema
from subgraphs.users import accounts, admin, api_clients, password_flows, registration, sessions
from subgraphs.users.errors import USERS_ERRORS
from subgraphs.users.models import AccountEvent as AccountEventRow
from subgraphs.users.types import (
    AccountEvent,
    AdminUserResult,
    ApiClient,
    ApiClientSuccess,
    ChangePasswordInput,
    ChangePasswordResult,
    ChangeUserRoleInput,
    CreateApiClientInput,
    CreateApiClientResult,
    CreateApiClientSuccess,
    CreateUserInput,
    LoginInput,
    LoginResult,
    LoginSuccess,
    LogoutInput,
    LogoutSuccess,
    MessageSuccess,
    RefreshTokenInput,
    RefreshTokenResult,
    RefreshTokenSuccess,
    RegisterInput,
    RegisterResult,
    RequestEmailVerificationInput,
    RequestMailResult,
    RequestPasswordResetInput,
    ResetPasswordInput,
    ResetPasswordResult,
    RevokeApiClientInput,
    RevokeApiClientResult,
    User,
    UserConnection,
    UserFilter,
    UserIdInput,
    UserSuccess,
    VerifyEmailInput,
    VerifyEmailResult,
)


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in user; null for anonymous callers and API clients.")
    async def me(self, info: strawberry.Info) -> User | None:
        user_id = info.context.principal.user_id
        if user_id is None:
            return None
        row = await info.context.loaders.user_by_id.load(user_id)
        return User.from_model(row, info.context.principal) if row else None

    @strawberry.federation.field(
        directives=[SIZED_BY_FIRST],
        requires_scopes=[[Permission.VIEW_USERS.value]],
        description="Every account (site admins).",
    )
    async def users(
        self,
        info: strawberry.Info,
        first: int = 20,
        after: str | None = None,
        filter: UserFilter | None = None,
    ) -> UserConnection:
        f = filter or UserFilter()
        principal = info.context.principal
        return await call_service(
            info,
            admin.list_users,
            filter=admin.UserFilter(role=f.role, is_active=f.is_active, search=f.search),
            page=PageRequest(first, after, lambda row: User.from_model(row, principal)),
        )

    @authenticated_field(
        directives=[list_size(100)], description="API clients of an organization (its admins)."
    )
    async def api_clients(self, info: strawberry.Info, organization_id: strawberry.ID) -> list[ApiClient]:
        organization = parse_id(organization_id, "organizationId")
        rows = await call_service(info, api_clients.list_api_clients, organization_id=organization)
        return [ApiClient.from_model(row) for row in rows]


Tokens = TypeVar("Tokens", LoginSuccess, RefreshTokenSuccess)


def _signed_in(result: sessions.SignIn, cls: type[Tokens]) -> Tokens:
    return cls(
        access_token=result.access_token,
        refresh_token=result.refresh_token,
        expires_in=result.expires_in,
        user=User.own(result.user),
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create an account; a verification link is mailed.")
    async def register(self, info: strawberry.Info, input: RegisterInput) -> RegisterResult:
        await call_service(
            info, registration.register, email=input.email, password=input.password, full_name=input.full_name
        )
        return MessageSuccess(message="Check your inbox to confirm your email address, then sign in.")

    @strawberry.mutation
    async def login(self, info: strawberry.Info, input: LoginInput) -> LoginResult:
        result = await call_service(info, sessions.login, email=input.email, password=input.password)
        return _signed_in(result, LoginSuccess)

    @strawberry.mutation(description="Trade a refresh token for new tokens; the old refresh token dies.")
    async def refresh_token(self, info: strawberry.Info, input: RefreshTokenInput) -> RefreshTokenResult:
        result = await call_service(info, sessions.refresh, refresh_token=input.refresh_token)
        return _signed_in(result, RefreshTokenSuccess)

    @strawberry.federation.mutation(authenticated=True, permission_classes=[IsAuthenticated])
    async def logout(self, info: strawberry.Info, input: LogoutInput | None = None) -> LogoutSuccess:
        count = await call_service(info, sessions.logout, all_sessions=bool(input and input.all_sessions))
        return LogoutSuccess(revoked_sessions=count)

    @strawberry.federation.mutation(authenticated=True, permission_classes=[IsAuthenticated])
    async def change_password(
        self, info: strawberry.Info, input: ChangePasswordInput
    ) -> ChangePasswordResult:
        await call_service(
            info,
            password_flows.change_password,
            current_password=input.current_password,
            new_password=input.new_password,
        )
        return MessageSuccess(message="Password changed. Other sessions were signed out.")

    @strawberry.mutation
    async def request_email_verification(
        self, info: strawberry.Info, input: RequestEmailVerificationInput
    ) -> RequestMailResult:
        message = await call_service(info, registration.request_email_verification, email=input.email)
        return MessageSuccess(message=message)

    @strawberry.mutation
    async def verify_email(self, info: strawberry.Info, input: VerifyEmailInput) -> VerifyEmailResult:
        row = await call_service(info, registration.verify_email, token=input.token)
        return UserSuccess(user=User.own(row))

    @strawberry.mutation
    async def request_password_reset(
        self, info: strawberry.Info, input: RequestPasswordResetInput
    ) -> RequestMailResult:
        message = await call_service(info, password_flows.request_password_reset, email=input.email)
        return MessageSuccess(message=message)

    @strawberry.mutation
    async def reset_password(self, info: strawberry.Info, input: ResetPasswordInput) -> ResetPasswordResult:
        await call_service(
            info, password_flows.reset_password, token=input.token, new_password=input.new_password
        )
        return MessageSuccess(message="Password set. Sign in with the new password.")

    @authenticated_mutation(description="Create an account for someone (site admins).")
    async def create_user(self, info: strawberry.Info, input: CreateUserInput) -> AdminUserResult:
        row = await call_service(
            info, admin.create_user, email=input.email, full_name=input.full_name, role=Role(input.role)
        )
        return UserSuccess(user=User.from_model(row, info.context.principal))

    @authenticated_mutation(description="Block sign-in and end all sessions (site admins).")
    async def deactivate_user(self, info: strawberry.Info, input: UserIdInput) -> AdminUserResult:
        row = await call_service(info, admin.deactivate_user, user_id=parse_id(input.user_id, "input.userId"))
        return UserSuccess(user=User.from_model(row, info.context.principal))

    @authenticated_mutation(description="Allow sign-in again (site admins).")
    async def reactivate_user(self, info: strawberry.Info, input: UserIdInput) -> AdminUserResult:
        row = await call_service(info, admin.reactivate_user, user_id=parse_id(input.user_id, "input.userId"))
        return UserSuccess(user=User.from_model(row, info.context.principal))

    @authenticated_mutation(description="Change a platform role (site admins).")
    async def change_user_role(self, info: strawberry.Info, input: ChangeUserRoleInput) -> AdminUserResult:
        user_id = parse_id(input.user_id, "input.userId")
        row = await call_service(info, admin.change_user_role, user_id=user_id, role=Role(input.role))
        return UserSuccess(user=User.from_model(row, info.context.principal))

    @authenticated_mutation(description="Register an integration; returns its secret once.")
    async def create_api_client(
        self, info: strawberry.Info, input: CreateApiClientInput
    ) -> CreateApiClientResult:
        client, secret = await call_service(
            info,
            api_clients.create_api_client,
            organization_id=parse_id(input.organization_id, "input.organizationId"),
            name=input.name,
            scopes=input.scopes,
        )
        return CreateApiClientSuccess(api_client=ApiClient.from_model(client), client_secret=secret)

    @authenticated_mutation()
    async def revoke_api_client(
        self, info: strawberry.Info, input: RevokeApiClientInput
    ) -> RevokeApiClientResult:
        client = await call_service(info, api_clients.revoke_api_client, id=parse_id(input.id, "input.id"))
        return ApiClientSuccess(api_client=ApiClient.from_model(client))


@strawberry.type
class Subscription:
    @authenticated_subscription(
        description="Security events of your account, live. Pass the last `seq` you saw as `after` when "
        "reconnecting: nothing is missed, nothing repeats.",
    )
    async def account_events(
        self, info: strawberry.Info, after: int | None = None
    ) -> AsyncGenerator[AccountEvent, None]:
        user_id = require_user(info.context.principal)
        runtime = info.context.runtime

        read_after = stored_after(runtime, AccountEventRow, user_id)
        async for message in follow(
            runtime.live,
            accounts.account_channel(user_id),
            after=after,
            read_after=read_after,
            guard=info.context.stream_guard(),
        ):
            data = dict(message["data"])
            kind = data.pop("kind")
            yield AccountEvent(
                seq=message["seq"], at=datetime.fromisoformat(message["at"]), kind=kind, detail=JSON(data)
            )


schema = build_schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[User],
    errors=USERS_ERRORS,
)
