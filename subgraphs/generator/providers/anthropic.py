"""ANTHROPIC: the Messages API through the official SDK, streaming. The only module importing `anthropic`.

The SDK's own retries are off (`max_retries=0`): this module retries 429, 529 (overloaded), other 5xx and
connection errors itself, a bounded number of times, with full-jitter exponential backoff that honours the
server's `retry-after` (capped). A stream that ends without `message_stop` (a dropped connection) counts
as a connection error: the call is retried and the consumer is told to drop the partial text (`Restart`).
Anything else (400, 401, ...) is not retried. Exhausted retries raise `ProviderError`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import cast

import anthropic
from anthropic.types import MessageParam

from subgraphs.core.settings import GeneratorSettings
from subgraphs.generator.providers.base import (
    Chunk,
    GenerationRequest,
    ProviderError,
    ProviderName,
    Restart,
    TextDelta,
    Usage,
)

log = logging.getLogger("coursegraph.generator.anthropic")

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504, 529})


class TruncatedStream(Exception):
    """The server closed the stream before `message_stop`."""


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    if response is None:
        return None
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, (anthropic.APIConnectionError, TruncatedStream)):
        return True
    return isinstance(exc, anthropic.APIStatusError) and exc.status_code in RETRYABLE_STATUS


class AnthropicGenerator:
    name = ProviderName.ANTHROPIC

    def __init__(
        self,
        settings: GeneratorSettings,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self.model = settings.model
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._client = anthropic.AsyncAnthropic(
            api_key=settings.anthropic_api_key,
            base_url=settings.base_url or None,
            max_retries=0,
            timeout=settings.timeout_seconds,
        )

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
                if not _retryable(exc):
                    raise ProviderError(f"Anthropic refused the request: {exc}") from exc
                attempt += 1
                if attempt > self._settings.retries:
                    raise ProviderError(f"Anthropic unavailable after {attempt} attempts: {exc}") from exc
                wait = self.backoff(attempt, _retry_after(exc))
                log.warning("anthropic call failed (%s); retry %d in %.2fs", exc, attempt, wait)
                if sent_text:
                    yield Restart(reason=str(exc) or type(exc).__name__)
                await self._sleep(wait)

    async def _call(self, request: GenerationRequest) -> AsyncIterator[Chunk]:
        input_tokens = output_tokens = 0
        model = self.model
        stopped = False
        stream = await self._client.messages.create(
            model=self.model,
            max_tokens=self._settings.max_tokens,
            system=request.system,
            # each is a user or an assistant MessageParam (the SDK types each role as a TypedDict of its own)
            messages=cast("list[MessageParam]", request.messages),
            stream=True,
        )
        async with stream:
            async for event in stream:
                if event.type == "message_start":
                    model = event.message.model or model
                    input_tokens = event.message.usage.input_tokens or 0
                    output_tokens = event.message.usage.output_tokens or 0
                elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                    yield TextDelta(event.delta.text)
                elif event.type == "message_delta":
                    output_tokens = event.usage.output_tokens or output_tokens
                    input_tokens = event.usage.input_tokens or input_tokens
                elif event.type == "message_stop":
                    stopped = True
        if not stopped:
            raise TruncatedStream("the stream ended before message_stop")
        yield Usage(self.name, model, input_tokens=input_tokens, output_tokens=output_tokens)
