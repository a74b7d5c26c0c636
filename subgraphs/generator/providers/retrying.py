"""What the providers that call a server share: retrying its transient failures themselves.

A transient failure (a connection error, 429, 529, other 5xx, a stream cut short) is retried a bounded
number of times (`retries`) with full-jitter exponential backoff that honours the server's `retry-after`
(capped at `retry_max_seconds`). A retry after part of the output was streamed tells the consumer to drop
that text (`Restart`). Exhausted retries raise `ProviderError`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TypedDict, Unpack

from subgraphs.core.settings import GeneratorSettings
from subgraphs.generator.providers.base import (
    Chunk,
    GenerationRequest,
    ProviderError,
    ProviderName,
    Restart,
    TextDelta,
)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504, 529})


def retry_after_header(headers: Mapping[str, str]) -> float | None:
    """The seconds a `retry-after` header asks for (None: absent or not a number)."""
    value = headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class RetryOptions(TypedDict, total=False):
    sleep: Callable[[float], Awaitable[None]]  # default asyncio.sleep; tests record the waits instead
    rng: random.Random  # the backoff's jitter


class RetryingGenerator(ABC):
    """A TextGenerator over one server: subclasses make one call (`_call`) and say which errors are
    transient; `stream` retries those."""

    name: ProviderName
    model: str
    # Who answers, in error messages and the log: "Anthropic", "OpenAI-compatible server".
    service: str
    log: logging.Logger

    def __init__(self, settings: GeneratorSettings, **options: Unpack[RetryOptions]) -> None:
        self._settings = settings
        self._sleep = options.get("sleep", asyncio.sleep)
        self._rng = options.get("rng") or random.Random()

    @abstractmethod
    def _call(self, request: GenerationRequest) -> AsyncIterator[Chunk]:
        """One call to the server, streamed."""

    @abstractmethod
    def _transient(self, exc: Exception) -> bool:
        """Whether the call is worth trying again after `exc`."""

    @abstractmethod
    def _retry_after(self, exc: Exception) -> float | None:
        """The wait the server asked for with a transient `exc`, if it did."""

    def _refusal(self, exc: Exception) -> Exception | None:
        """What to raise for an error that is not retried; None: the error itself."""
        return None

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        cap = self._settings.retry_max_seconds
        jittered = self._rng.uniform(0, min(cap, self._settings.retry_base_seconds * 2 ** (attempt - 1)))
        if retry_after is not None:
            return min(cap, retry_after + jittered * 0.1)  # at least what the server asked, a little spread
        return jittered

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Chunk]:
        attempt = 0
        while True:
            sent_text = False
            try:
                async for chunk in self._call(request):
                    if isinstance(chunk, TextDelta):
                        sent_text = True
                    yield chunk
                return
            except Exception as exc:
                if not self._transient(exc):
                    refusal = self._refusal(exc)
                    if refusal is None:
                        raise
                    raise refusal from exc
                attempt += 1
                if attempt > self._settings.retries:
                    message = f"{self.service} unavailable after {attempt} attempts: {exc}"
                    raise ProviderError(message) from exc
                wait = self.backoff(attempt, self._retry_after(exc))
                self.log.warning("%s call failed (%s); retry %d in %.2fs", self.service, exc, attempt, wait)
                if sent_text:
                    yield Restart(reason=str(exc) or type(exc).__name__)
                await self._sleep(wait)
