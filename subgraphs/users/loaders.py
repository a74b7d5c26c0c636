"""Per-request DataLoaders of the users subgraph."""

from __future__ import annotations

from dataclasses import dataclass

from subgraphs.core.context import Context
from subgraphs.core.loaders import RowLoader, by_key_loader
from subgraphs.users.models import User


@dataclass
class Loaders:
    user_by_id: RowLoader[User]


def build_loaders(context: Context) -> Loaders:
    return Loaders(user_by_id=by_key_loader(context, User, User.id))
