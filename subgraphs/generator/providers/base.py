"""The `TextGenerator` protocol every provider implements.

`stream(request)` yields `TextDelta`s as the model writes, `Restart` when a call was retried after part of
its output had been streamed (the consumer drops what it has), and one final `Usage`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol, TypedDict

from subgraphs.contracts.generation import Kind


class ProviderName(StrEnum):
    ANTHROPIC = "ANTHROPIC"
    OPENAI_COMPATIBLE = "OPENAI_COMPATIBLE"
    OFFLINE = "OFFLINE"


class Message(TypedDict):
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class GenerationRequest:
    kind: Kind
    input: dict[str, Any]
    system: str
    messages: list[Message] = field(default_factory=list)  # the conversation so far


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Restart:
    """The call was retried after partial output: discard the text received so far."""

    reason: str


@dataclass(frozen=True)
class Usage:
    provider: ProviderName
    model: str
    input_tokens: int
    output_tokens: int


Chunk = TextDelta | Restart | Usage


class ProviderError(Exception):
    """The provider could not answer (after its own retries): the chain tries the next one."""


class TextGenerator(Protocol):
    # Read-only: a provider's are attributes, the chain's follow the provider that would answer now.
    @property
    def name(self) -> ProviderName: ...
    @property
    def model(self) -> str: ...

    def stream(self, request: GenerationRequest) -> AsyncIterator[Chunk]: ...
