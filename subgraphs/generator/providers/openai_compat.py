"""OPENAI_COMPATIBLE: any server speaking OpenAI's Chat Completions API with streaming (a local inference
server, a gateway), over plain httpx — the fallback between Anthropic and OFFLINE.

Streams `POST {base_url}/chat/completions` (`stream: true`, usage requested in the last chunk). Retries
429, 5xx and connection errors (bounded, full jitter, honouring `retry-after` up to a cap) like the
Anthropic provider; a stream that ends without `data: [DONE]` is retried and the consumer told to drop the
partial text (`Restart`). Other errors are not retried. Exhausted retries raise `ProviderError`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Unpack

import httpx
import orjson

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


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OpenAICompatibleGenerator(RetryingGenerator):
    name = ProviderName.OPENAI_COMPATIBLE
    service = "OpenAI-compatible server"
    log = logging.getLogger("coursegraph.generator.openai_compat")

    def __init__(self, settings: GeneratorSettings, **options: Unpack[RetryOptions]) -> None:
        super().__init__(settings, **options)
        self.model = settings.openai_model
        headers = {"Authorization": f"Bearer {settings.openai_api_key}"} if settings.openai_api_key else {}
        self._client = httpx.AsyncClient(
            base_url=settings.openai_base_url.rstrip("/"), headers=headers, timeout=settings.timeout_seconds
        )

    def _transient(self, exc: Exception) -> bool:
        return isinstance(exc, (_Retryable, httpx.TransportError))

    def _retry_after(self, exc: Exception) -> float | None:
        return getattr(exc, "retry_after", None)

    async def _call(self, request: GenerationRequest) -> AsyncIterator[Chunk]:
        body = {
            "model": self.model,
            "max_tokens": self._settings.max_tokens,
            "messages": [{"role": "system", "content": request.system}, *request.messages],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        input_tokens = output_tokens = 0
        model = self.model
        done = False
        async with self._client.stream("POST", "/chat/completions", json=body) as response:
            if response.status_code in RETRYABLE_STATUS:
                raise _Retryable(f"HTTP {response.status_code}", retry_after_header(response.headers))
            if response.status_code != 200:
                text = (await response.aread()).decode(errors="replace")[:300]
                raise ProviderError(
                    f"OpenAI-compatible server refused the request: HTTP {response.status_code} {text}"
                )
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    done = True
                    break
                event = orjson.loads(data)
                model = event.get("model") or model
                for choice in event.get("choices") or []:
                    content = (choice.get("delta") or {}).get("content")
                    if content:
                        yield TextDelta(content)
                usage = event.get("usage")
                if usage:
                    input_tokens = usage.get("prompt_tokens", input_tokens)
                    output_tokens = usage.get("completion_tokens", output_tokens)
        if not done:
            raise _Retryable("the stream ended before [DONE]")
        yield Usage(self.name, model, input_tokens=input_tokens, output_tokens=output_tokens)
