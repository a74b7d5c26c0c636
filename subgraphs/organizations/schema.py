"""Query and Mutation of the organizations subgraph. Resolvers stay thin: parse, call the service.

Router-side checks: `@authenticated` everywhere, plus `@policy` from core.rbac.member_or_scope_policy (a
user of any platform role passes, the subgraph then decides by membership; an API client needs the scope).
The subgraph always re-checks with core.rbac.authorize.
"""

from __future__ import annotations

import strawberry

from subgraphs.core.ids import parse_id
from subgraphs.core.pagination import PageRequest, list_size
from subgraphs.core.rbac import USER_POLICY, member_or_scope_policy
from subgraphs.core.resolvers import (
    authenticated_field,
    authenticated_mutation,
    call_service,
    call_with_input_id,
    paged_field,
)
from subgraphs.core.schema import build_schema
from subgraphs.organizations import audit_log, invitations, memberships, roles, tenants, tracks
from subgraphs.organizations.errors import ORGANIZATIONS_ERRORS
from subgraphs.organizations.types import (
    AcceptInvitationInput,
    AcceptInvitationResult,
    AuditLogEntry,
    AuditLogEntryConnection,
    AuditLogFilter,
    CreateOrganizationInput,
    CreateOrganizationResult,
    CreateTrackInput,
    CreateTrackResult,
    DeleteTrackInput,
    DeleteTrackResult,
    DeleteTrackSuccess,
    Invitation,
    InvitationConnection,
    InvitationIdInput,
    InvitationResult,
    InviteMemberInput,
    InviteMemberResult,
    InviteMemberSuccess,
    MemberFilter,
    Membership,
    MembershipConnection,
    MembershipSuccess,
    Organization,
    OrganizationConnection,
    OrganizationSuccess,
    RemoveMemberInput,
    RemoveMemberResult,
    ReorderTrackInput,
    ReorderTrackResult,
    Track,
    TrackConnection,
    TrackSuccess,
    UpdateMemberRoleInput,
    UpdateMemberRoleResult,
    UpdateOrganizationInput,
    UpdateOrganizationResult,
    UpdateTrackInput,
    UpdateTrackResult,
    User,
)

MANAGE = member_or_scope_policy(roles.MANAGE_ORGANIZATION)
MANAGE_TRACKS = member_or_scope_policy(roles.MANAGE_TRACKS)


def _role(value: object) -> roles.MembershipRole:
    return roles.MembershipRole(getattr(value, "value", value))


@strawberry.type
class Query:
    @authenticated_field(
        policy=member_or_scope_policy(roles.VIEW_ORGANIZATION),
        description="One organization, by id or by slug (members, site admins, API clients bound to it). "
        "Null for an unknown slug; an unknown id is refused like another tenant's (site admins: null).",
    )
    async def organization(
        self, info: strawberry.Info, id: strawberry.ID | None = None, slug: str | None = None
    ) -> Organization | None:
        row = await call_service(
            info, tenants.get_organization, id=parse_id(id, "id") if id is not None else None, slug=slug
        )
        return Organization.from_model(row) if row else None

    @paged_field(
        description="Every organization of the platform by name (site admins); `search`: in name or slug."
    )
    async def organizations(
        self, info: strawberry.Info, search: str | None = None, first: int = 20, after: str | None = None
    ) -> OrganizationConnection:
        return await call_service(
            info,
            tenants.list_organizations,
            search=search,
            page=PageRequest(first, after, Organization.from_model),
        )

    @authenticated_field(directives=[list_size(50)], description="The organizations you are a member of.")
    async def my_organizations(self, info: strawberry.Info) -> list[Organization]:
        rows = await call_service(info, tenants.my_organizations)
        return [Organization.from_model(row) for row in rows]

    @paged_field(
        policy=member_or_scope_policy(roles.VIEW_MEMBERS),
        description="Members of an organization, oldest first (its admins).",
    )
    async def members(
        self,
        info: strawberry.Info,
        organization_id: strawberry.ID,
        first: int = 20,
        after: str | None = None,
        filter: MemberFilter | None = None,
    ) -> MembershipConnection:
        role = filter.role if filter else None
        return await call_service(
            info,
            memberships.list_members,
            organization_id=parse_id(organization_id, "organizationId"),
            filter=memberships.MemberFilter(role=_role(role) if role else None),
            page=PageRequest(first, after, Membership.from_model),
        )

    @paged_field(
        policy=MANAGE,
        description="Invitations of an organization not yet accepted nor cancelled, newest first (its "
        "admins); expired ones too, until resent or cancelled.",
    )
    async def invitations(
        self, info: strawberry.Info, organization_id: strawberry.ID, first: int = 20, after: str | None = None
    ) -> InvitationConnection:
        return await call_service(
            info,
            invitations.list_invitations,
            organization_id=parse_id(organization_id, "organizationId"),
            page=PageRequest(first, after, Invitation.from_model),
        )

    @paged_field(
        policy=member_or_scope_policy(roles.VIEW_TRACKS),
        description="Learning paths of an organization, oldest first (its members).",
    )
    async def tracks(
        self,
        info: strawberry.Info,
        organization_id: strawberry.ID,
        first: int = 20,
        after: str | None = None,
    ) -> TrackConnection:
        return await call_service(
            info,
            tracks.list_tracks,
            organization_id=parse_id(organization_id, "organizationId"),
            page=PageRequest(first, after, Track.from_model),
        )

    @authenticated_field(policy=member_or_scope_policy(roles.VIEW_TRACKS), description="One learning path.")
    async def track(self, info: strawberry.Info, id: strawberry.ID) -> Track | None:
        row = await call_service(info, tracks.get_track, id=parse_id(id, "id"))
        return Track.from_model(row) if row else None

    @paged_field(
        policy=member_or_scope_policy(roles.VIEW_AUDIT_LOG),
        description="Who did what, newest first: an organization's entries (VIEW_AUDIT_LOGS there), or "
        "without `organizationId` every entry of the platform (site admins).",
    )
    async def audit_log(
        self,
        info: strawberry.Info,
        organization_id: strawberry.ID | None = None,
        filter: AuditLogFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> AuditLogEntryConnection:
        f = filter or AuditLogFilter()
        return await call_service(
            info,
            audit_log.list_audit_log,
            organization_id=parse_id(organization_id, "organizationId")
            if organization_id is not None
            else None,
            filter=audit_log.AuditFilter(actor=f.actor, action=f.action, since=f.since, until=f.until),
            page=PageRequest(first, after, AuditLogEntry.from_model),
        )


@strawberry.type
class Mutation:
    @authenticated_mutation(
        policy=USER_POLICY,
        description="Create an organization (signed-in users with a verified email); you become its admin.",
    )
    async def create_organization(
        self, info: strawberry.Info, input: CreateOrganizationInput
    ) -> CreateOrganizationResult:
        row = await call_service(
            info, tenants.create_organization, name=input.name, slug=input.slug, description=input.description
        )
        return OrganizationSuccess(organization=Organization.from_model(row))

    @authenticated_mutation(policy=MANAGE, description="Rename, describe, configure.")
    async def update_organization(
        self, info: strawberry.Info, input: UpdateOrganizationInput
    ) -> UpdateOrganizationResult:
        row = await call_with_input_id(
            info,
            tenants.update_organization,
            input,
            name=input.name,
            slug=input.slug,
            description=input.description,
            settings=input.settings.changes() if input.settings else None,
        )
        return OrganizationSuccess(organization=Organization.from_model(row))

    @authenticated_mutation(policy=MANAGE, description="Mail someone a single-use link to join, with a role.")
    async def invite_member(self, info: strawberry.Info, input: InviteMemberInput) -> InviteMemberResult:
        row = await call_service(
            info,
            invitations.invite_member,
            organization_id=parse_id(input.organization_id, "input.organizationId"),
            email=input.email,
            role=_role(input.role),
        )
        return InviteMemberSuccess(invitation=Invitation.from_model(row))

    @authenticated_mutation(
        policy=MANAGE,
        description="Mail a pending invitation again with a new link (same address and role); the old link "
        "stops working. Answers the new invitation.",
    )
    async def resend_invitation(self, info: strawberry.Info, input: InvitationIdInput) -> InvitationResult:
        invitation_id = parse_id(input.invitation_id, "input.invitationId")
        row = await call_service(info, invitations.resend_invitation, invitation_id=invitation_id)
        return InviteMemberSuccess(invitation=Invitation.from_model(row))

    @authenticated_mutation(
        policy=MANAGE, description="Withdraw a pending invitation: its link stops working."
    )
    async def cancel_invitation(self, info: strawberry.Info, input: InvitationIdInput) -> InvitationResult:
        invitation_id = parse_id(input.invitation_id, "input.invitationId")
        row = await call_service(info, invitations.cancel_invitation, invitation_id=invitation_id)
        return InviteMemberSuccess(invitation=Invitation.from_model(row))

    @authenticated_mutation(
        policy=USER_POLICY,
        description="Join with the token of an invitation (signed in, with a verified email).",
    )
    async def accept_invitation(
        self, info: strawberry.Info, input: AcceptInvitationInput
    ) -> AcceptInvitationResult:
        row = await call_service(info, invitations.accept_invitation, token=input.token)
        return MembershipSuccess(membership=Membership.from_model(row))

    @authenticated_mutation(
        policy=MANAGE, description="Change a member's role; applies to their next request."
    )
    async def update_member_role(
        self, info: strawberry.Info, input: UpdateMemberRoleInput
    ) -> UpdateMemberRoleResult:
        row = await call_service(
            info,
            memberships.update_member_role,
            organization_id=parse_id(input.organization_id, "input.organizationId"),
            user_id=parse_id(input.user_id, "input.userId"),
            role=_role(input.role),
        )
        return MembershipSuccess(membership=Membership.from_model(row))

    @authenticated_mutation(
        policy=MANAGE, description="Remove a member; their access ends before this returns."
    )
    async def remove_member(self, info: strawberry.Info, input: RemoveMemberInput) -> RemoveMemberResult:
        organization_id = parse_id(input.organization_id, "input.organizationId")
        user_id = parse_id(input.user_id, "input.userId")
        row = await call_service(
            info, memberships.remove_member, organization_id=organization_id, user_id=user_id
        )
        return MembershipSuccess(membership=Membership.from_model(row))

    @authenticated_mutation(policy=MANAGE_TRACKS)
    async def create_track(self, info: strawberry.Info, input: CreateTrackInput) -> CreateTrackResult:
        row = await call_service(
            info,
            tracks.create_track,
            organization_id=parse_id(input.organization_id, "input.organizationId"),
            name=input.name,
            description=input.description,
            course_ids=[str(c) for c in input.course_ids],
        )
        return TrackSuccess(track=Track.from_model(row))

    @authenticated_mutation(policy=MANAGE_TRACKS)
    async def update_track(self, info: strawberry.Info, input: UpdateTrackInput) -> UpdateTrackResult:
        row = await call_with_input_id(
            info,
            tracks.update_track,
            input,
            name=input.name,
            description=input.description,
            course_ids=[str(c) for c in input.course_ids] if input.course_ids is not None else None,
        )
        return TrackSuccess(track=Track.from_model(row))

    @authenticated_mutation(policy=MANAGE_TRACKS, description="Put a track's courses in a new order.")
    async def reorder_track(self, info: strawberry.Info, input: ReorderTrackInput) -> ReorderTrackResult:
        row = await call_with_input_id(
            info, tracks.reorder_track, input, course_ids=[str(c) for c in input.course_ids]
        )
        return TrackSuccess(track=Track.from_model(row))

    @authenticated_mutation(policy=MANAGE_TRACKS)
    async def delete_track(self, info: strawberry.Info, input: DeleteTrackInput) -> DeleteTrackResult:
        row = await call_with_input_id(info, tracks.delete_track, input)
        return DeleteTrackSuccess(id=strawberry.ID(str(row.id)))


schema = build_schema(
    query=Query,
    mutation=Mutation,
    types=[Organization, Membership, Track, AuditLogEntry, User],
    errors=ORGANIZATIONS_ERRORS,
)
