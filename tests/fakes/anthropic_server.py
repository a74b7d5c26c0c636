"""A local HTTP server speaking Anthropic's Messages API (and OpenAI's streaming Chat Completions API, for
the OpenAI-compatible provider), for tests: the real APIs are paid external services.

`POST /v1/messages`, non-streaming (JSON) and streaming (SSE: message_start, content_block_start,
content_block_delta(text_delta)..., content_block_stop, message_delta(usage), message_stop). Each test
scripts the replies in order (`server.script(Reply.text(...), Reply.error(429, retry_after=2), ...)`);
when the script is empty `server.default` answers. Every request body is recorded in `server.requests`.
Runs uvicorn in a thread of its own on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.services import free_port

MODEL = "claude-fake-1"


@dataclass
class Reply:
    status: int = 200
    text: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    error_type: str = ""
    truncate_after_chunks: int | None = None  # stream: close the connection after this many deltas
    chunk_chars: int = 16
    seconds_per_chunk: float = 0.0
    hold_after_chunks: int = 0  # with `server.gate`: stream this many deltas freely, then wait for the gate
    input_tokens: int = 0  # 0: estimated from the request
    output_tokens: int = 0  # 0: estimated from the text

    @classmethod
    def of_text(cls, text: str, **kw: Any) -> Reply:
        return cls(text=text, **kw)

    @classmethod
    def of_json(cls, obj: Any, **kw: Any) -> Reply:
        return cls(text=orjson.dumps(obj).decode(), **kw)

    @classmethod
    def error(cls, status: int, *, retry_after: float | None = None, error_type: str = "") -> Reply:
        headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
        kind = error_type or {429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error")
        return cls(status=status, headers=headers, error_type=kind)

    @classmethod
    def truncated(cls, text: str, *, after_chunks: int = 2, **kw: Any) -> Reply:
        return cls(text=text, truncate_after_chunks=after_chunks, **kw)


def syllabus_for(body: dict[str, Any], **reply: Any) -> Reply:
    """A valid syllabus for the Messages request `body` (read from the rendered syllabus prompt)."""
    import re

    prompt = str(body["messages"][0]["content"])
    title = re.search(r"Course Title: (.*)", prompt)
    weeks = re.search(r"Duration: (\d+) weeks", prompt)
    n = int(weeks.group(1)) if weeks else 1
    syllabus = {
        "title": title.group(1).strip() if title else "Course",
        "overview": "A course written by the fake model.",
        "learning_objectives": ["Understand the basics", "Build something real"],
        "modules": [
            {"week": w, "title": f"Week {w}", "topics": [f"Topic {w}.1", f"Topic {w}.2"], "duration_hours": 5}
            for w in range(1, n + 1)
        ],
        "prerequisites": ["Curiosity"],
        "assessments": ["A final project"],
    }
    return Reply.of_json(syllabus, **reply)


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class FakeAnthropic:
    def __init__(self) -> None:
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self.default: Callable[[dict[str, Any]], Reply] | None = None
        self.requests: list[dict[str, Any]] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        # When set, streaming replies wait for it before each chunk (lets a test stop a job mid-stream);
        # `holding` is set once a reply waits for it.
        self.gate: threading.Event | None = None
        self.holding = threading.Event()

    # --- scripting ---------------------------------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self._replies.clear()
            self.requests.clear()
            self.default = None
            self.gate = None
            self.holding.clear()

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(body)
            if self._replies:
                return self._replies.popleft()
        if self.default is not None:
            return self.default(body)
        return Reply.error(500, error_type="api_error")

    # --- HTTP ----------------------------------------------------------------------------------------
    async def _messages(self, request: Request) -> Response:
        body = await request.json()
        reply = self._next(body)
        if reply.status != 200:
            return JSONResponse(
                {"type": "error", "error": {"type": reply.error_type, "message": f"scripted {reply.status}"}},
                status_code=reply.status,
                headers=reply.headers,
            )
        prompt_chars = len(str(body.get("system", ""))) + sum(
            len(str(m["content"])) for m in body["messages"]
        )
        input_tokens = reply.input_tokens or max(1, prompt_chars // 4)
        output_tokens = reply.output_tokens or max(1, len(reply.text) // 4)
        message_id = f"msg_{uuid.uuid4().hex[:20]}"
        if not body.get("stream"):
            return JSONResponse(
                {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": MODEL,
                    "content": [{"type": "text", "text": reply.text}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
                }
            )
        return StreamingResponse(
            self._stream(reply, message_id, input_tokens, output_tokens), media_type="text/event-stream"
        )

    async def _stream(
        self, reply: Reply, message_id: str, input_tokens: int, output_tokens: int
    ) -> AsyncIterator[bytes]:
        yield _sse(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": MODEL,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": input_tokens, "output_tokens": 1},
                },
            },
        )
        yield _sse(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        )
        chunks = [reply.text[i : i + reply.chunk_chars] for i in range(0, len(reply.text), reply.chunk_chars)]
        for n, chunk in enumerate(chunks):
            if reply.truncate_after_chunks is not None and n >= reply.truncate_after_chunks:
                return  # the connection closes mid-message: no content_block_stop, no message_stop
            gate = self.gate
            if gate is not None and n >= reply.hold_after_chunks:
                self.holding.set()
                await asyncio.to_thread(gate.wait)
            if reply.seconds_per_chunk:
                await asyncio.sleep(reply.seconds_per_chunk)
            yield _sse(
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": chunk}},
            )
        yield _sse("content_block_stop", {"type": "content_block_stop", "index": 0})
        yield _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
        )
        yield _sse("message_stop", {"type": "message_stop"})

    async def _chat_completions(self, request: Request) -> Response:
        """OpenAI's Chat Completions API, streaming only (the OpenAI-compatible provider streams)."""
        body = await request.json()
        reply = self._next(body)
        if reply.status != 200:
            return JSONResponse(
                {"error": {"type": reply.error_type, "message": f"scripted {reply.status}"}},
                status_code=reply.status,
                headers=reply.headers,
            )
        prompt_chars = sum(len(str(m["content"])) for m in body["messages"])
        usage = {
            "prompt_tokens": reply.input_tokens or max(1, prompt_chars // 4),
            "completion_tokens": reply.output_tokens or max(1, len(reply.text) // 4),
        }
        return StreamingResponse(
            self._chat_stream(reply, usage, str(body["model"])), media_type="text/event-stream"
        )

    async def _chat_stream(self, reply: Reply, usage: dict[str, int], model: str) -> AsyncIterator[bytes]:
        base = {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion.chunk", "model": model}
        chunks = [reply.text[i : i + reply.chunk_chars] for i in range(0, len(reply.text), reply.chunk_chars)]
        for n, chunk in enumerate(chunks):
            if reply.truncate_after_chunks is not None and n >= reply.truncate_after_chunks:
                return  # no final chunk, no [DONE]
            if reply.seconds_per_chunk:
                await asyncio.sleep(reply.seconds_per_chunk)
            event = {**base, "choices": [{"index": 0, "delta": {"content": chunk}, "finish_reason": None}]}
            yield b"data: " + orjson.dumps(event) + b"\n\n"
        yield b"data: " + orjson.dumps({**base, "choices": [], "usage": usage}) + b"\n\n"
        yield b"data: [DONE]\n\n"

    # --- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> FakeAnthropic:
        app = Starlette(
            routes=[
                Route("/v1/messages", self._messages, methods=["POST"]),
                Route("/v1/chat/completions", self._chat_completions, methods=["POST"]),
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fake-anthropic", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake Anthropic server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
