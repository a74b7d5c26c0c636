"""OPENAI_COMPATIBLE: any server speaking OpenAI's Chat Completions API with streaming (a local inference
server, a gateway), over plain httpx — the fallback between Anthropic and OFFLINE.

Streams `POST {base_url}/chat/completions` (`stream: true`, usage requested in the last chunk). Retries
429, 5xx and connection errors (bounded, full jitter, honouring `retry-after` up to a cap) like the
Anthropic provider; a stream that ends without `data: [DONE]` is retried and the consumer told to drop the
partial text (`Restart`). Other errors are not retried. Exhausted retries raise `ProviderError`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import orjson

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

log = logging.getLogger("coursegraph.generator.openai_compat")

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504, 529})


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    try:
        value = response.headers.get("retry-after")
        return float(value) if value is not None else None
    except ValueError:
        return None


class OpenAICompatibleGenerator:
    name = ProviderName.OPENAI_COMPATIBLE

    def __init__(
        self,
        settings: GeneratorSettings,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self.model = settings.openai_model
        self._sleep = sleep
        self._rng = rng or random.Random()
        headers = {"Authorization": f"Bearer {settings.openai_api_key}"} if settings.openai_api_key else {}
        self._client = httpx.AsyncClient(
            base_url=settings.openai_base_url.rstrip("/"), headers=headers, timeout=settings.timeout_seconds
        )

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        cap = self._settings.retry_max_seconds
        jittered = self._rng.uniform(0, min(cap, self._settings.retry_base_seconds * 2 ** (attempt - 1)))
        if retry_after is not None:
            return min(cap, retry_after + jittered * 0.1)
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
            except (_Retryable, httpx.TransportError) as exc:
                attempt += 1
                if attempt > self._settings.retries:
                    raise ProviderError(
                        f"OpenAI-compatible server unavailable after {attempt} attempts: {exc}"
                    ) from exc
                wait = self.backoff(attempt, getattr(exc, "retry_after", None))
                log.warning("openai-compatible call failed (%s); retry %d in %.2fs", exc, attempt, wait)
                if sent_text:
                    yield Restart(reason=str(exc) or type(exc).__name__)
                await self._sleep(wait)

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
                raise _Retryable(f"HTTP {response.status_code}", _retry_after(response))
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
