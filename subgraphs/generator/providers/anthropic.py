"""ANTHROPIC: the Messages API through the official SDK, streaming. The only module importing `anthropic`.

The SDK's own retries are off (`max_retries=0`): this module retries 429, 529 (overloaded), other 5xx and
connection errors itself, a bounded number of times, with full-jitter exponential backoff that honours the
server's `retry-after` (capped). A stream that ends without `message_stop` (a dropped connection) counts
as a connection error: the call is retried and the consumer is told to drop the partial text (`Restart`).
Anything else (400, 401, ...) is not retried. Exhausted retries raise `ProviderError`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Unpack, cast

import anthropic
from anthropic.types import MessageParam

from subgraphs.core.settings import GeneratorSettings
from subgraphs.generator.providers.base import (
    Chunk,
    GenerationRequest,
    ProviderError,
    ProviderName,
    TextDelta,
    Usage,
)
from subgraphs.generator.providers.retrying import (
    RETRYABLE_STATUS,
    RetryingGenerator,
    RetryOptions,
    retry_after_header,
)


class TruncatedStream(Exception):
    """The server closed the stream before `message_stop`."""


class AnthropicGenerator(RetryingGenerator):
    name = ProviderName.ANTHROPIC
    service = "Anthropic"
    log = logging.getLogger("coursegraph.generator.anthropic")

    def __init__(self, settings: GeneratorSettings, **options: Unpack[RetryOptions]) -> None:
        super().__init__(settings, **options)
        self.model = settings.model
        self._client = anthropic.AsyncAnthropic(
            api_key=settings.anthropic_api_key,
            base_url=settings.base_url or None,
            max_retries=0,
            timeout=settings.timeout_seconds,
        )

    def _transient(self, exc: Exception) -> bool:
        if isinstance(exc, (anthropic.APIConnectionError, TruncatedStream)):
            return True
        return isinstance(exc, anthropic.APIStatusError) and exc.status_code in RETRYABLE_STATUS

    def _retry_after(self, exc: Exception) -> float | None:
        response = getattr(exc, "response", None)
        return retry_after_header(response.headers) if response is not None else None

    def _refusal(self, exc: Exception) -> Exception:
        return ProviderError(f"Anthropic refused the request: {exc}")

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
