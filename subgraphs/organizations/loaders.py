"""Per-request DataLoaders of the organizations subgraph."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strawberry.dataloader import DataLoader

from subgraphs.core.context import Context
from subgraphs.core.loaders import RowLoader, by_key_loader, grouped_loader
from subgraphs.organizations.models import AuditLogEntry, Membership, Organization, Track


@dataclass
class Loaders:
    organization_by_id: RowLoader[Organization]
    membership_by_id: RowLoader[Membership]
    memberships_by_user_id: DataLoader[Any, list[Membership]]
    track_by_id: RowLoader[Track]
    audit_log_entry_by_id: RowLoader[AuditLogEntry]


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
