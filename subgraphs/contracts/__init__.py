"""Typed, versioned contracts between domains: every event payload and the vocabulary domains share.

A domain imports only the kernel (`subgraphs.core`) and this package; this package imports nothing of
`subgraphs` but itself. Producers build a payload model and put `payload.wire()` in the event's envelope;
consumers `parse(event)` into the model and read attributes, never keys. One module per emitting
domain (`users`, `organizations`, `courses`, `content`, ...), `kernel` for the types every domain emits,
`generation` for the generator's results, `vocabulary` for the shared enums and organization settings.
Importing this package registers every event type (`REGISTRY`; docs/architecture.md, section 14, says
how they are used).
"""

from subgraphs.contracts import (  # noqa: F401  (imported to register their event types)
    analytics,
    content,
    courses,
    generator,
    kernel,
    labs,
    organizations,
    quizzes,
    users,
)
from subgraphs.contracts.base import (
    REGISTRY,
    EventPayload,
    UnknownEvent,
    contract_as,
    contract_of,
    is_registered,
    parse,
    parse_as,
    parse_if,
)
from subgraphs.contracts.vocabulary import Difficulty, LabIde, OrganizationSettings

__all__ = [
    "REGISTRY",
    "Difficulty",
    "EventPayload",
    "LabIde",
    "OrganizationSettings",
    "UnknownEvent",
    "contract_as",
    "contract_of",
    "is_registered",
    "parse",
    "parse_as",
    "parse_if",
]
