"""The machinery of event contracts: the payload base class, its registry and `parse`.

One frozen Pydantic model per event type. A producer builds the model and puts `payload.wire()` in the
envelope (`core.events.Event`); a consumer calls `parse(event)` and reads attributes. The wire format is
the model's JSON with only the fields the producer set (`exclude_unset`): an optional field a producer
leaves out stays out of the JSON, exactly as when payloads were plain keyword arguments.

Versioning: a model carries the envelope `version` it describes (`VERSION`, 1 today). A change that
breaks readers (a field removed, renamed or retyped) is a new model with `VERSION = 2` registered beside
the old one, and producers move once every consumer parses both. Adding an optional field is not a break:
`parse` drops the fields a contract does not know, so an older consumer reads a newer payload. Building a
payload is strict (`extra="forbid"`): a producer cannot send a field its contract lacks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, PlainSerializer

# An instant that travels as Python's `isoformat()` wrote it before payloads were typed (`+00:00`, where
# Pydantic would write `Z`): the same bytes on the wire.
IsoDatetime = Annotated[datetime, PlainSerializer(lambda d: d.isoformat(), return_type=str, when_used="json")]

WILDCARD = "*"  # the domain part of a type every domain emits: "*.authz.denied", "*.mail.requested"


class EventPayload(BaseModel):
    """Base of every event payload. Subclasses that name a `TYPE` are registered."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    TYPE: ClassVar[str] = ""  # "<domain>.<entity>.<verb>"; "*.<entity>.<verb>" for every domain's
    VERSION: ClassVar[int] = 1

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "TYPE" in cls.__dict__ and cls.TYPE:
            key = (cls.TYPE, cls.VERSION)
            if key in REGISTRY:
                raise TypeError(f"two contracts for {cls.TYPE} v{cls.VERSION}: {REGISTRY[key]} and {cls}")
            REGISTRY[key] = cls

    def event_type(self, domain: str | None = None) -> str:
        """The envelope's `type`; `domain` fills in the wildcard of a type every domain emits."""
        if self.TYPE.startswith(WILDCARD + "."):
            if not domain:
                raise ValueError(f"{self.TYPE} needs the emitting domain")
            return domain + self.TYPE[1:]
        return self.TYPE

    def wire(self) -> dict[str, Any]:
        """The payload as it goes into the envelope (JSON types, only the fields that were set)."""
        return self.model_dump(mode="json", exclude_unset=True)


REGISTRY: dict[tuple[str, int], type[EventPayload]] = {}


class UnknownEvent(LookupError):
    """No contract is registered for this event type and version."""


class Envelope(Protocol):
    """What `parse` needs of an event (`core.events.Event` has it; contracts import nothing of core)."""

    @property
    def type(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def payload(self) -> dict[str, Any]: ...


def contract_of(event_type: str, version: int = 1) -> type[EventPayload]:
    found = REGISTRY.get((event_type, version))
    if found is None and "." in event_type:
        found = REGISTRY.get((WILDCARD + "." + event_type.split(".", 1)[1], version))
    if found is None:
        raise UnknownEvent(f"no contract for {event_type} v{version}")
    return found


def is_registered(event_type: str, version: int = 1) -> bool:
    try:
        contract_of(event_type, version)
    except UnknownEvent:
        return False
    return True


P = TypeVar("P", bound=EventPayload)


def _read(contract: type[P], payload: dict[str, Any]) -> P:
    """Validate as a reader: fields the contract does not know (a newer producer's) are left out (in
    pydantic's core: filtering the dict in Python cost as much as the validation, docs/performance.md)."""
    return contract.model_validate(payload, extra="ignore")


def parse(event: Envelope) -> EventPayload:
    """The event's payload as its contract (pydantic.ValidationError when it does not fit)."""
    return _read(contract_of(event.type, event.version), event.payload)


def contract_as(event_type: str, base: type[P], version: int = 1) -> type[P]:
    """The contract of `event_type`, which must be `base` or a subclass (for producers that pick the type
    from a table, e.g. the labs state machine)."""
    found = contract_of(event_type, version)
    if not issubclass(found, base):
        raise TypeError(f"{event_type} is described by {found.__name__}, not a {base.__name__}")
    return found


def parse_if(event: Envelope, contract: type[P]) -> P | None:
    """The payload when the event's contract is `contract` or one of its subclasses, else None (an event
    of another kind, or one no contract describes). How a consumer picks the events it projects."""
    try:
        found = contract_of(event.type, event.version)
    except UnknownEvent:
        return None
    if not issubclass(found, contract):
        return None
    return _read(found, event.payload)  # type: ignore[return-value]  # found is a subclass of P


def parse_as(event: Envelope, contract: type[P]) -> P:
    """`parse`, for a consumer that knows which contract (or base of several) it expects."""
    payload = parse(event)
    if not isinstance(payload, contract):
        raise TypeError(f"{event.type} carries {type(payload).__name__}, not {contract.__name__}")
    return payload
