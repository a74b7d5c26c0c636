"""Per-request DataLoaders of the organizations subgraph."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strawberry.dataloader import DataLoader

from subgraphs.core.context import Context
from subgraphs.core.loaders import by_key_loader, grouped_loader
from subgraphs.organizations.models import AuditLogEntry, Membership, Organization, Track


@dataclass
class Loaders:
    organization_by_id: DataLoader[Any, Organization | None]
    membership_by_id: DataLoader[Any, Membership | None]
    memberships_by_user_id: DataLoader[Any, list[Membership]]
    track_by_id: DataLoader[Any, Track | None]
    audit_log_entry_by_id: DataLoader[Any, AuditLogEntry | None]


def build_loaders(context: Context) -> Loaders:
    return Loaders(
        organization_by_id=by_key_loader(context, Organization, Organization.id),
        membership_by_id=by_key_loader(context, Membership, Membership.id),
        memberships_by_user_id=grouped_loader(
            context, Membership, Membership.user_id, order_by=lambda: (Membership.joined_at, Membership.id)
        ),
        track_by_id=by_key_loader(context, Track, Track.id),
        audit_log_entry_by_id=by_key_loader(context, AuditLogEntry, AuditLogEntry.id),
    )
