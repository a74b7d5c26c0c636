"""The provider chain: Anthropic (when a key is configured) → OpenAI-compatible (when a base URL is
configured) → OFFLINE, each behind a circuit breaker.

A provider that raises `ProviderError` (its retries exhausted, or a refused request) records a failure;
`breaker_failures` consecutive failures open its breaker for `breaker_reset_seconds`, during which the
chain goes straight to the next provider. After that one trial call is let through (half-open): success
closes the breaker, failure opens it again. The last provider (OFFLINE) never fails.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable

from subgraphs.core.settings import GeneratorSettings
from subgraphs.generator.providers.base import (
    Chunk,
    GenerationRequest,
    ProviderError,
    ProviderName,
    Restart,
    TextDelta,
    TextGenerator,
)
from subgraphs.generator.providers.offline import OfflineGenerator

log = logging.getLogger("coursegraph.generator.chain")


class CircuitBreaker:
    def __init__(
        self, failures: int, reset_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._threshold = failures
        self._reset = reset_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None

    @property
    def open(self) -> bool:
        if self._opened_at is None:
            return False
        if self._clock() - self._opened_at >= self._reset:
            return False  # half-open: let one call through
        return True

    def success(self) -> None:
        self._failures = 0
        self._opened_at = None

    def failure(self) -> None:
        self._failures += 1
        if self._failures >= self._threshold:
            self._opened_at = self._clock()


class ProviderChain:
    """A TextGenerator that delegates to the first provider whose breaker is closed."""

    def __init__(self, providers: list[TextGenerator], settings: GeneratorSettings) -> None:
        if not providers:
            raise ValueError("a provider chain needs at least one provider")
        self.providers = providers
        self.breakers = [
            CircuitBreaker(settings.breaker_failures, settings.breaker_reset_seconds) for _ in providers
        ]

    @property
    def name(self) -> ProviderName:  # the provider that would answer now
        return self._first_available()[1].name

    @property
    def model(self) -> str:
        return self._first_available()[1].model

    def _first_available(self) -> tuple[int, TextGenerator]:
        for i, provider in enumerate(self.providers):
            if i == len(self.providers) - 1 or not self.breakers[i].open:
                return i, provider
        raise AssertionError("unreachable")

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Chunk]:
        last = len(self.providers) - 1
        for i, provider in enumerate(self.providers):
            if i < last and self.breakers[i].open:
                continue
            sent_text = False
            try:
                async for chunk in provider.stream(request):
                    if isinstance(chunk, TextDelta):
                        sent_text = True
                    elif isinstance(chunk, Restart):
                        sent_text = False
                    yield chunk
            except ProviderError as exc:
                self.breakers[i].failure()
                if i == last:
                    raise
                log.warning("provider %s failed (%s); falling back", provider.name, exc)
                if sent_text:
                    yield Restart(reason=f"{provider.name} failed: {exc}")
                continue
            self.breakers[i].success()
            return


def build_chain(settings: GeneratorSettings) -> ProviderChain:
    providers: list[TextGenerator] = []
    if settings.anthropic_api_key:
        from subgraphs.generator.providers.anthropic import AnthropicGenerator

        providers.append(AnthropicGenerator(settings))
    if settings.openai_base_url:
        from subgraphs.generator.providers.openai_compat import OpenAICompatibleGenerator

        providers.append(OpenAICompatibleGenerator(settings))
    providers.append(OfflineGenerator())
    return ProviderChain(providers, settings)
