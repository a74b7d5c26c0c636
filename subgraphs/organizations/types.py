"""GraphQL types of the organizations subgraph."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from subgraphs.contracts import vocabulary
from subgraphs.core.entities import from_row
from subgraphs.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from subgraphs.core.federation import PERSON, Stub, owned_reference, stub
from subgraphs.core.ids import to_id, to_uuid
from subgraphs.core.pagination import Connection, list_size
from subgraphs.core.rbac import organizations_permitting, permitted
from subgraphs.organizations import models, roles, tenants
from subgraphs.organizations.errors import InvalidInvitationError
from subgraphs.organizations.roles import MembershipRole

# GraphQL enums: strawberry.enum registers the service's enum class itself (and returns it): fields name it.
strawberry.enum(MembershipRole, name="MembershipRole", description="A role inside one organization.")


@strawberry.type(description="Defaults an organization applies to its labs.")
class OrganizationSettings:
    lab_idle_timeout_seconds: int = strawberry.field(description="A lab idle this long is paused.")
    lab_stop_timeout_seconds: int = strawberry.field(description="A lab paused this long is stopped.")
    lab_max_session_minutes: int
    lab_max_concurrent_per_user: int = strawberry.field(description="Running labs one member may have.")
    lab_max_running_per_organization: int = strawberry.field(description="Running labs in the organization.")
    lab_memory_mb: int
    lab_cpus: float
    generation_daily_token_budget: int | None = strawberry.field(
        description="AI generation tokens per day; null: the platform default."
    )
    storage_quota_bytes: float | None = strawberry.field(
        description="Bytes of course files (every version counts); null: the platform default."
    )

    @classmethod
    def from_model(cls, value: vocabulary.OrganizationSettings) -> OrganizationSettings:
        return cls(**value.model_dump())


@strawberry.federation.type(keys=["id"], description="A tenant: courses, labs and reports belong to one.")
class Organization:
    id: strawberry.ID
    name: str
    slug: str
    description: str
    created_at: datetime
    settings: OrganizationSettings

    @strawberry.field(description="Your role in this organization; null when you are not a member.")
    async def viewer_role(self, info: strawberry.Info) -> MembershipRole | None:
        user_id = info.context.principal.user_id
        if user_id is None:
            return None
        role = (await info.context.memberships.of(user_id)).get(str(self.id))
        return MembershipRole(role.value) if role else None

    @classmethod
    def from_model(cls, row: models.Organization) -> Organization:
        return from_row(cls, row, settings=OrganizationSettings.from_model(tenants.org_settings(row)))

    # Visible to its members, site admins and API clients bound to it; null to everyone else.
    resolve_reference = owned_reference(
        "organization_by_id",
        lambda info, row: permitted(info.context.caller, roles.VIEW_ORGANIZATION, row.id),
    )


async def _organization(root: Membership | Track | Invitation, info: strawberry.Info) -> Organization:
    """The `organization` field of a membership, track or invitation: the one its row belongs to."""
    row = await info.context.loaders.organization_by_id.load(root._row.organization_id)
    return Organization.from_model(row)


async def _sees_membership(info: strawberry.Info, membership: models.Membership) -> bool:
    """The member themself, site admins, and those who may view the organization's members."""
    if info.context.principal.user_id == membership.user_id:
        return True
    return await permitted(info.context.caller, roles.VIEW_MEMBERS, membership.organization_id)


async def _sees_audit_log_entry(info: strawberry.Info, entry: models.AuditLogEntry) -> bool:
    """Site admins; those who may view the audit log of the entry's organization."""
    if info.context.principal.is_site_admin:
        return True
    return entry.organization_id is not None and await permitted(
        info.context.caller, roles.VIEW_AUDIT_LOG, entry.organization_id
    )


@stub(PERSON)
class User(Stub):
    @strawberry.federation.field(
        directives=[list_size(50)],
        authenticated=True,
        description="Organizations this person belongs to: all of them for the person and site admins, "
        "for anyone else only those where the caller may view members (organization admins).",
    )
    async def memberships(self, info: strawberry.Info) -> list[Membership]:
        key = to_uuid(self.id)
        principal = info.context.principal
        if key is None or not principal.is_authenticated:
            return []
        rows = await info.context.loaders.memberships_by_user_id.load(key)
        if principal.is_site_admin or principal.user_id == key:
            return [Membership.from_model(row) for row in rows]
        visible = await organizations_permitting(info.context.caller, roles.VIEW_MEMBERS)
        return [Membership.from_model(row) for row in rows if row.organization_id in visible]


@strawberry.federation.type(keys=["id"], description="A person's role inside one organization.")
class Membership:
    id: strawberry.ID
    role: MembershipRole
    joined_at: datetime
    _row: strawberry.Private[models.Membership]

    @strawberry.field
    def user(self) -> User:
        return User(id=to_id(self._row.user_id))

    @strawberry.field
    async def organization(self, info: strawberry.Info) -> Organization:
        return await _organization(self, info)

    @classmethod
    def from_model(cls, row: models.Membership) -> Membership:
        return from_row(cls, row, role=MembershipRole(row.role))

    resolve_reference = owned_reference("membership_by_id", _sees_membership)


@strawberry.federation.type(keys=["id"], description="An ordered learning path of courses.")
class Track:
    id: strawberry.ID
    name: str
    description: str
    course_ids: list[strawberry.ID] = strawberry.field(description="Courses in the order they are taken.")
    created_at: datetime
    updated_at: datetime
    _row: strawberry.Private[models.Track]
    organization: Organization = strawberry.field(resolver=_organization)

    @classmethod
    def from_model(cls, row: models.Track) -> Track:
        return from_row(cls, row, course_ids=[to_id(c) for c in row.course_ids])

    resolve_reference = owned_reference(
        "track_by_id",
        lambda info, row: permitted(info.context.caller, roles.VIEW_TRACKS, row.organization_id),
    )


@strawberry.federation.type(
    keys=["id"], description="One recorded event: who did what, where, when, from where."
)
class AuditLogEntry:
    id: strawberry.ID = strawberry.field(description="The event id (an event is recorded once).")
    occurred_at: datetime
    actor_id: str | None = strawberry.field(
        description="A user id, or an API client id; null for the system."
    )
    organization_id: strawberry.ID | None
    action: str = strawberry.field(description="The event type, e.g. `organizations.membership.removed`.")
    subject_ids: JSON
    request_id: str | None
    source_ip: str | None
    detail: JSON = strawberry.field(description="The event's data without secrets (nothing for mail events).")

    @strawberry.field(description="The acting user (null for API clients and the system).")
    def actor(self) -> User | None:
        return User(id=to_id(self.actor_id)) if self.actor_id and to_uuid(self.actor_id) else None

    @classmethod
    def from_model(cls, row: models.AuditLogEntry) -> AuditLogEntry:
        return from_row(
            cls,
            row,
            organization_id=to_id(row.organization_id) if row.organization_id else None,
            subject_ids=JSON(row.subject_ids),
            detail=JSON(row.detail),
        )

    resolve_reference = owned_reference("audit_log_entry_by_id", _sees_audit_log_entry)


@strawberry.type(description="A pending invitation (its token went by mail and is not stored).")
class Invitation:
    id: strawberry.ID
    email: str
    role: MembershipRole
    expires_at: datetime
    created_at: datetime
    _row: strawberry.Private[models.Invitation]
    organization: Organization = strawberry.field(resolver=_organization)

    @classmethod
    def from_model(cls, row: models.Invitation) -> Invitation:
        return from_row(cls, row, role=MembershipRole(row.role))


MembershipConnection = Connection[Membership]
OrganizationConnection = Connection[Organization]
InvitationConnection = Connection[Invitation]
TrackConnection = Connection[Track]
AuditLogEntryConnection = Connection[AuditLogEntry]

# --- inputs ---------------------------------------------------------------------------------------


@strawberry.input
class CreateOrganizationInput:
    name: str
    slug: str = strawberry.field(description="3-64 lower-case letters, digits and dashes; unique.")
    description: str | None = None


@strawberry.input(description="Only the fields given change.")
class OrganizationSettingsInput:
    lab_idle_timeout_seconds: int | None = None
    lab_stop_timeout_seconds: int | None = None
    lab_max_session_minutes: int | None = None
    lab_max_concurrent_per_user: int | None = None
    lab_max_running_per_organization: int | None = None
    lab_memory_mb: int | None = None
    lab_cpus: float | None = None
    generation_daily_token_budget: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="AI generation tokens per day; null: back to the platform default; omitted: unchanged.",
    )
    storage_quota_bytes: float | None = strawberry.field(
        default=strawberry.UNSET, description="Bytes of stored files; null: back to the platform default."
    )

    def changes(self) -> dict[str, Any]:
        # Budget and storage quota can be cleared (null: the platform default); other nulls change nothing.
        return {
            k: v
            for k, v in vars(self).items()
            if v is not strawberry.UNSET and (v is not None or k in CLEARABLE_SETTINGS)
        }


CLEARABLE_SETTINGS = frozenset({"generation_daily_token_budget", "storage_quota_bytes"})


@strawberry.input(description="Only the fields given change.")
class UpdateOrganizationInput:
    id: strawberry.ID
    name: str | None = None
    slug: str | None = None
    description: str | None = None
    settings: OrganizationSettingsInput | None = None


@strawberry.input
class InviteMemberInput:
    organization_id: strawberry.ID
    email: str
    role: MembershipRole = MembershipRole.STUDENT


@strawberry.input
class AcceptInvitationInput:
    token: str


@strawberry.input
class UpdateMemberRoleInput:
    organization_id: strawberry.ID
    user_id: strawberry.ID
    role: MembershipRole


@strawberry.input
class RemoveMemberInput:
    organization_id: strawberry.ID
    user_id: strawberry.ID


@strawberry.input
class InvitationIdInput:
    invitation_id: strawberry.ID


@strawberry.input
class MemberFilter:
    role: MembershipRole | None = None


@strawberry.input
class CreateTrackInput:
    organization_id: strawberry.ID
    name: str
    description: str | None = None
    course_ids: list[strawberry.ID] = strawberry.field(default_factory=list)


@strawberry.input(description="Only the fields given change; `courseIds` replaces the whole path.")
class UpdateTrackInput:
    id: strawberry.ID
    name: str | None = None
    description: str | None = None
    course_ids: list[strawberry.ID] | None = None


@strawberry.input
class ReorderTrackInput:
    id: strawberry.ID
    course_ids: list[strawberry.ID] = strawberry.field(description="The track's courses, in the new order.")


@strawberry.input
class DeleteTrackInput:
    id: strawberry.ID


@strawberry.input
class AuditLogFilter:
    actor: str | None = strawberry.field(default=None, description="A user or API client id.")
    action: str | None = strawberry.field(
        default=None, description="An event type, or a prefix ending in `.*` (e.g. `users.auth.*`)."
    )
    since: datetime | None = strawberry.field(default=None, description="Entries at or after this time.")
    until: datetime | None = strawberry.field(default=None, description="Entries before this time.")


# --- results --------------------------------------------------------------------------------------


@strawberry.type
class OrganizationSuccess:
    organization: Organization


@strawberry.type
class MembershipSuccess:
    membership: Membership


@strawberry.type
class InviteMemberSuccess:
    invitation: Invitation


@strawberry.type
class TrackSuccess:
    track: Track


@strawberry.type
class DeleteTrackSuccess:
    id: strawberry.ID


CreateOrganizationResult = Annotated[
    OrganizationSuccess | ValidationError | ConflictError | ForbiddenError,
    strawberry.union("CreateOrganizationResult"),
]
UpdateOrganizationResult = Annotated[
    OrganizationSuccess | ValidationError | ConflictError | ForbiddenError | NotFoundError,
    strawberry.union("UpdateOrganizationResult"),
]
InviteMemberResult = Annotated[
    InviteMemberSuccess | ValidationError | ForbiddenError | NotFoundError,
    strawberry.union("InviteMemberResult"),
]
InvitationResult = Annotated[
    InviteMemberSuccess | ValidationError | ForbiddenError | NotFoundError,
    strawberry.union("InvitationResult"),
]
AcceptInvitationResult = Annotated[
    MembershipSuccess | InvalidInvitationError | ConflictError | ForbiddenError,
    strawberry.union("AcceptInvitationResult"),
]
UpdateMemberRoleResult = Annotated[
    MembershipSuccess | NotFoundError | ConflictError | ForbiddenError | ValidationError,
    strawberry.union("UpdateMemberRoleResult"),
]
RemoveMemberResult = Annotated[
    MembershipSuccess | NotFoundError | ConflictError | ForbiddenError | ValidationError,
    strawberry.union("RemoveMemberResult"),
]
CreateTrackResult = Annotated[
    TrackSuccess | ValidationError | ForbiddenError | NotFoundError, strawberry.union("CreateTrackResult")
]
UpdateTrackResult = Annotated[
    TrackSuccess | ValidationError | ForbiddenError | NotFoundError, strawberry.union("UpdateTrackResult")
]
ReorderTrackResult = Annotated[
    TrackSuccess | ValidationError | ForbiddenError | NotFoundError, strawberry.union("ReorderTrackResult")
]
DeleteTrackResult = Annotated[
    DeleteTrackSuccess | ValidationError | ForbiddenError | NotFoundError,
    strawberry.union("DeleteTrackResult"),
]
