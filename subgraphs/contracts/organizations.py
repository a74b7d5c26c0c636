"""The events of the organizations domain (`events.organizations`)."""

from __future__ import annotations

import uuid

from subgraphs.contracts.base import Envelope, EventPayload, IsoDatetime, parse_if
from subgraphs.contracts.vocabulary import OrganizationSettings


class OrganizationCreated(EventPayload):
    TYPE = "organizations.organization.created"
    name: str
    slug: str
    settings: OrganizationSettings
    seed: bool = False  # made by `coursegraph seed`


class OrganizationFields(EventPayload):
    """An organization's changeable fields, as they were or became (only those that changed are set).
    `settings` is always the whole set after a change (defaults included)."""

    name: str | None = None
    slug: str | None = None
    description: str | None = None
    settings: OrganizationSettings | None = None


class OrganizationUpdated(EventPayload):
    """The fields that changed, before and after. Readers need only `after` (the producer always sends
    both; a payload with `after` alone is read as well)."""

    TYPE = "organizations.organization.updated"
    before: OrganizationFields = OrganizationFields()
    after: OrganizationFields


class InvitationCreated(EventPayload):
    TYPE = "organizations.invitation.created"
    email: str
    role: str
    expires_at: IsoDatetime


class InvitationCancelled(EventPayload):
    TYPE = "organizations.invitation.cancelled"
    email: str
    role: str


class MembershipAdded(EventPayload):
    TYPE = "organizations.membership.added"
    role: str
    via: str  # "created" (the founder), "invitation", "seed"
    invitation_id: uuid.UUID | None = None
    invited_email: str | None = None


class MembershipRoleChanged(EventPayload):
    TYPE = "organizations.membership.role_changed"
    before: str
    after: str


class MembershipRemoved(EventPayload):
    TYPE = "organizations.membership.removed"
    role: str


class TrackCreated(EventPayload):
    TYPE = "organizations.track.created"
    name: str
    course_ids: list[uuid.UUID]


class TrackUpdated(EventPayload):
    TYPE = "organizations.track.updated"
    changed: list[str]
    course_ids: list[uuid.UUID]


class TrackReordered(EventPayload):
    TYPE = "organizations.track.reordered"
    course_ids: list[uuid.UUID]


class TrackDeleted(EventPayload):
    TYPE = "organizations.track.deleted"
    name: str


def announced_settings(event: Envelope) -> OrganizationSettings | None:
    """The settings an organizations event announces (labs and generator keep them): all of them on
    creation; after an update only when they changed (None for a change of name or slug, and for any other
    event)."""
    if created := parse_if(event, OrganizationCreated):
        return created.settings
    if updated := parse_if(event, OrganizationUpdated):
        return updated.after.settings
    return None
