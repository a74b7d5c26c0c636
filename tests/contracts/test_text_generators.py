"""The TextGenerator contract, run against every implementation: the Anthropic provider (the real
`anthropic` SDK talking to a local server that speaks the Messages API) and the OFFLINE provider.
Then the Anthropic provider's error handling: 429 with retry-after, 529, truncated streams, malformed
JSON (re-asked with the validation errors, then a clear failure), and the chain's circuit breaker."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anthropic
import pytest

from subgraphs.contracts.generation import Kind
from subgraphs.core.settings import GeneratorSettings
from subgraphs.generator import prompts
from subgraphs.generator.pipeline import GenerationFailed, generate, validate
from subgraphs.generator.providers.anthropic import AnthropicGenerator
from subgraphs.generator.providers.base import (
    GenerationRequest,
    ProviderError,
    ProviderName,
    Restart,
    TextDelta,
    TextGenerator,
    Usage,
)
from subgraphs.generator.providers.chain import CircuitBreaker, ProviderChain
from subgraphs.generator.providers.offline import OfflineGenerator, draft
from subgraphs.generator.providers.openai_compat import OpenAICompatibleGenerator
from tests.fakes.anthropic_server import MODEL, FakeAnthropic, Reply

INPUTS: dict[Kind, dict[str, Any]] = {
    Kind.SYLLABUS: {
        "title": "Intro to Rust",
        "audience": "backend developers",
        "duration_weeks": 4,
        "difficulty": "INTERMEDIATE",
    },
    Kind.SLIDES: {
        "course_title": "Intro to Rust",
        "module_title": "Ownership",
        "topics": ["moves", "borrows"],
    },
    Kind.EXERCISES: {
        "course_title": "Intro to Rust",
        "module_title": "Ownership",
        "topics": ["moves"],
        "count": 3,
        "language": "rust",
    },
    Kind.QUIZ: {
        "course_title": "Intro to Rust",
        "module_title": "Ownership",
        "topics": ["moves", "borrows"],
        "question_count": 5,
        "question_types": ["MULTIPLE_CHOICE", "TRUE_FALSE", "SHORT_ANSWER"],
    },
}


class RecordingSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def anthropic_settings(server: FakeAnthropic, **overrides: Any) -> GeneratorSettings:
    values = {
        "anthropic_api_key": "sk-test",
        "base_url": server.url,
        "model": MODEL,
        "retries": 3,
        "retry_base_seconds": 0.01,
        "retry_max_seconds": 30,
        "reask_attempts": 2,
        **overrides,
    }
    return GeneratorSettings(**values)


def request_for(kind: Kind) -> GenerationRequest:
    return GenerationRequest(
        kind=kind,
        input=INPUTS[kind],
        system=prompts.SYSTEM,
        messages=[{"role": "user", "content": prompts.render(kind, INPUTS[kind])}],
    )


def openai_settings(server: FakeAnthropic, **overrides: Any) -> GeneratorSettings:
    values = {
        "openai_base_url": server.url + "/v1",
        "openai_api_key": "sk-local",
        "openai_model": "local-7b",
        "retries": 3,
        "retry_base_seconds": 0.01,
        "retry_max_seconds": 30,
        **overrides,
    }
    return GeneratorSettings(**values)


@pytest.fixture(params=["anthropic", "openai_compatible", "offline"])
def make_generator(request: pytest.FixtureRequest) -> Callable[[Kind], TextGenerator]:
    """A generator answering with a valid draft of the asked kind."""
    if request.param == "offline":
        return lambda kind: OfflineGenerator()
    server: FakeAnthropic = request.getfixturevalue("anthropic_server")

    def make(kind: Kind) -> TextGenerator:
        server.default = lambda body: Reply.of_text(draft(kind, INPUTS[kind]))
        if request.param == "openai_compatible":
            return OpenAICompatibleGenerator(openai_settings(server), sleep=RecordingSleep())
        return AnthropicGenerator(anthropic_settings(server), sleep=RecordingSleep())

    return make


# --- the contract --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(Kind))
async def test_streams_text_then_one_final_usage(make_generator: Callable, kind: Kind):
    generator = make_generator(kind)
    chunks = [c async for c in generator.stream(request_for(kind))]
    deltas = [c for c in chunks if isinstance(c, TextDelta)]
    assert len(deltas) > 1, "the answer arrives as several deltas"
    assert isinstance(chunks[-1], Usage) and sum(isinstance(c, Usage) for c in chunks) == 1
    usage = chunks[-1]
    assert usage.provider == generator.name and usage.model == generator.model
    assert usage.input_tokens > 0 and usage.output_tokens > 0
    result, errors = validate(kind, "".join(d.text for d in deltas))
    assert errors == [] and result


@pytest.mark.parametrize("kind", list(Kind))
async def test_generate_returns_a_validated_result_of_the_kind(make_generator: Callable, kind: Kind):
    generator = make_generator(kind)
    seen: list[int] = []

    async def on_text(text: str, attempt: int) -> None:
        seen.append(len(text))

    outcome = await generate(generator, kind, INPUTS[kind], reask_attempts=0, on_text=on_text)
    assert outcome.provider == generator.name and outcome.attempts == 1
    assert seen == sorted(seen) and len(seen) > 1, "partial text grows as the stream arrives"
    if kind is Kind.SYLLABUS:
        assert [m["week"] for m in outcome.result["modules"]] == [1, 2, 3, 4]
    if kind is Kind.QUIZ:
        assert len(outcome.result["questions"]) == 5
    if kind is Kind.EXERCISES:
        assert {e["language"] for e in outcome.result["exercises"]} == {"rust"}


async def test_offline_is_deterministic_and_labelled():
    one = await generate(OfflineGenerator(), Kind.SYLLABUS, INPUTS[Kind.SYLLABUS], reask_attempts=0)
    two = await generate(OfflineGenerator(), Kind.SYLLABUS, INPUTS[Kind.SYLLABUS], reask_attempts=0)
    assert one == two
    assert one.provider is ProviderName.OFFLINE and "OFFLINE" in one.result["overview"]


# --- the Anthropic provider against the fake server --------------------------------------------


async def test_anthropic_sends_model_system_and_prompt(anthropic_server: FakeAnthropic):
    anthropic_server.script(Reply.of_text(draft(Kind.SYLLABUS, INPUTS[Kind.SYLLABUS])))
    generator = AnthropicGenerator(anthropic_settings(anthropic_server, max_tokens=1234))
    await generate(generator, Kind.SYLLABUS, INPUTS[Kind.SYLLABUS], reask_attempts=0)
    [body] = anthropic_server.requests
    assert body["model"] == MODEL and body["max_tokens"] == 1234 and body["stream"] is True
    assert body["system"] == prompts.SYSTEM
    assert "Course Title: Intro to Rust" in body["messages"][0]["content"]
    assert "Duration: 4 weeks" in body["messages"][0]["content"]


async def test_fake_server_also_answers_without_streaming(anthropic_server: FakeAnthropic):
    anthropic_server.script(Reply.of_text('{"ok": true}', input_tokens=7, output_tokens=3))
    client = anthropic.AsyncAnthropic(api_key="sk-test", base_url=anthropic_server.url, max_retries=0)
    message = await client.messages.create(
        model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    )
    assert message.content[0].text == '{"ok": true}'
    assert (message.usage.input_tokens, message.usage.output_tokens) == (7, 3)


async def test_429_is_retried_after_the_servers_retry_after(anthropic_server: FakeAnthropic):
    anthropic_server.script(
        Reply.error(429, retry_after=2), Reply.of_text(draft(Kind.SYLLABUS, INPUTS[Kind.SYLLABUS]))
    )
    sleep = RecordingSleep()
    generator = AnthropicGenerator(anthropic_settings(anthropic_server), sleep=sleep)
    outcome = await generate(generator, Kind.SYLLABUS, INPUTS[Kind.SYLLABUS], reask_attempts=0)
    assert outcome.provider is ProviderName.ANTHROPIC
    assert len(anthropic_server.requests) == 2
    assert len(sleep.waits) == 1 and 2.0 <= sleep.waits[0] <= 2.5


async def test_retry_after_is_capped(anthropic_server: FakeAnthropic):
    anthropic_server.script(
        Reply.error(429, retry_after=3600), Reply.of_text(draft(Kind.QUIZ, INPUTS[Kind.QUIZ]))
    )
    sleep = RecordingSleep()
    generator = AnthropicGenerator(anthropic_settings(anthropic_server, retry_max_seconds=5), sleep=sleep)
    await generate(generator, Kind.QUIZ, INPUTS[Kind.QUIZ], reask_attempts=0)
    assert sleep.waits == [5]


async def test_529_overloaded_is_retried_with_growing_jittered_backoff(anthropic_server: FakeAnthropic):
    anthropic_server.script(
        Reply.error(529), Reply.error(529), Reply.of_text(draft(Kind.SLIDES, INPUTS[Kind.SLIDES]))
    )
    sleep = RecordingSleep()
    generator = AnthropicGenerator(anthropic_settings(anthropic_server, retry_base_seconds=1.0), sleep=sleep)
    outcome = await generate(generator, Kind.SLIDES, INPUTS[Kind.SLIDES], reask_attempts=0)
    assert outcome.result["slides"]
    assert len(sleep.waits) == 2 and 0 <= sleep.waits[0] <= 1.0 and 0 <= sleep.waits[1] <= 2.0


async def test_retries_are_bounded(anthropic_server: FakeAnthropic):
    anthropic_server.default = lambda body: Reply.error(529)
    generator = AnthropicGenerator(anthropic_settings(anthropic_server, retries=2), sleep=RecordingSleep())
    with pytest.raises(ProviderError, match="after 3 attempts"):
        await generate(generator, Kind.SYLLABUS, INPUTS[Kind.SYLLABUS], reask_attempts=0)
    assert len(anthropic_server.requests) == 3


async def test_client_errors_are_not_retried(anthropic_server: FakeAnthropic):
    anthropic_server.script(Reply.error(400, error_type="invalid_request_error"))
    sleep = RecordingSleep()
    generator = AnthropicGenerator(anthropic_settings(anthropic_server), sleep=sleep)
    with pytest.raises(ProviderError, match="refused"):
        await generate(generator, Kind.SYLLABUS, INPUTS[Kind.SYLLABUS], reask_attempts=0)
    assert len(anthropic_server.requests) == 1 and sleep.waits == []


async def test_a_truncated_stream_is_retried_and_the_partial_text_dropped(anthropic_server: FakeAnthropic):
    text = draft(Kind.SYLLABUS, INPUTS[Kind.SYLLABUS])
    anthropic_server.script(Reply.truncated(text, after_chunks=3), Reply.of_text(text))
    generator = AnthropicGenerator(anthropic_settings(anthropic_server), sleep=RecordingSleep())
    chunks = [c async for c in generator.stream(request_for(Kind.SYLLABUS))]
    restarts = [i for i, c in enumerate(chunks) if isinstance(c, Restart)]
    assert len(restarts) == 1 and restarts[0] == 3, "three deltas, then the restart"
    after = "".join(c.text for c in chunks[restarts[0] :] if isinstance(c, TextDelta))
    assert after == text
    anthropic_server.script(Reply.truncated(text, after_chunks=1), Reply.of_text(text))
    outcome = await generate(
        AnthropicGenerator(anthropic_settings(anthropic_server), sleep=RecordingSleep()),
        Kind.SYLLABUS,
        INPUTS[Kind.SYLLABUS],
        reask_attempts=0,
    )
    assert outcome.result == json.loads(text) and outcome.attempts == 1


async def test_malformed_json_is_reasked_with_the_validation_errors(anthropic_server: FakeAnthropic):
    valid = draft(Kind.SYLLABUS, INPUTS[Kind.SYLLABUS])
    anthropic_server.script(
        Reply.of_text('{"title": "Intro to Rust", "overview": '),  # cut-off JSON
        Reply.of_json({"title": "Intro to Rust", "overview": "x", "learning_objectives": [], "modules": []}),
        Reply.of_text("```json\n" + valid + "\n```"),
    )
    generator = AnthropicGenerator(anthropic_settings(anthropic_server), sleep=RecordingSleep())
    outcome = await generate(generator, Kind.SYLLABUS, INPUTS[Kind.SYLLABUS], reask_attempts=2)
    assert outcome.attempts == 3 and outcome.result == json.loads(valid)
    first_reask, second_reask = anthropic_server.requests[1], anthropic_server.requests[2]
    assert [m["role"] for m in first_reask["messages"]] == ["user", "assistant", "user"]
    assert first_reask["messages"][1]["content"] == '{"title": "Intro to Rust", "overview": '
    assert "not a JSON object" in first_reask["messages"][2]["content"]
    assert "learning_objectives" in second_reask["messages"][4]["content"]
    assert "modules" in second_reask["messages"][4]["content"]
    # tokens of all three attempts are counted
    assert outcome.input_tokens > sum([1, 1, 1]) and outcome.output_tokens >= 3


async def test_still_invalid_after_the_reasks_fails_with_a_clear_reason(anthropic_server: FakeAnthropic):
    anthropic_server.default = lambda body: Reply.of_json({"title": "", "modules": "none"})
    generator = AnthropicGenerator(anthropic_settings(anthropic_server), sleep=RecordingSleep())
    with pytest.raises(GenerationFailed) as failed:
        await generate(generator, Kind.SYLLABUS, INPUTS[Kind.SYLLABUS], reask_attempts=1)
    assert len(anthropic_server.requests) == 2
    assert failed.value.reason.startswith("The model's output was still invalid after 2 attempts")
    assert "modules" in failed.value.reason and "title" in failed.value.reason
    assert len(failed.value.usage) == 2


async def test_chain_falls_back_to_offline_and_the_breaker_opens(anthropic_server: FakeAnthropic):
    anthropic_server.default = lambda body: Reply.error(529)
    settings = anthropic_settings(anthropic_server, retries=0, breaker_failures=2, breaker_reset_seconds=3600)
    chain = ProviderChain(
        [AnthropicGenerator(settings, sleep=RecordingSleep()), OfflineGenerator()], settings
    )
    assert chain.name is ProviderName.ANTHROPIC
    for expected_requests in (1, 2):
        outcome = await generate(chain, Kind.SYLLABUS, INPUTS[Kind.SYLLABUS], reask_attempts=0)
        assert outcome.provider is ProviderName.OFFLINE
        assert len(anthropic_server.requests) == expected_requests
    # open: Anthropic is not called any more
    outcome = await generate(chain, Kind.SYLLABUS, INPUTS[Kind.SYLLABUS], reask_attempts=0)
    assert outcome.provider is ProviderName.OFFLINE and len(anthropic_server.requests) == 2
    assert chain.name is ProviderName.OFFLINE


async def test_chain_drops_partial_text_of_a_provider_that_failed_mid_stream(anthropic_server: FakeAnthropic):
    text = draft(Kind.QUIZ, INPUTS[Kind.QUIZ])
    anthropic_server.default = lambda body: Reply.truncated("{" + "x" * 200, after_chunks=2)
    settings = anthropic_settings(anthropic_server, retries=0)
    chain = ProviderChain(
        [AnthropicGenerator(settings, sleep=RecordingSleep()), OfflineGenerator()], settings
    )
    outcome = await generate(chain, Kind.QUIZ, INPUTS[Kind.QUIZ], reask_attempts=0)
    assert outcome.provider is ProviderName.OFFLINE and outcome.result == json.loads(text)


def test_breaker_half_opens_after_the_reset_time():
    now = [0.0]
    breaker = CircuitBreaker(failures=1, reset_seconds=10, clock=lambda: now[0])
    breaker.failure()
    assert breaker.open
    now[0] = 10.0
    assert not breaker.open
    breaker.failure()
    assert breaker.open
    breaker.success()
    assert not breaker.open


# --- the OpenAI-compatible provider against the same server ------------------------------------


async def test_openai_compatible_sends_system_model_and_streams(anthropic_server: FakeAnthropic):
    anthropic_server.script(
        Reply.of_text(draft(Kind.QUIZ, INPUTS[Kind.QUIZ]), input_tokens=40, output_tokens=20)
    )
    generator = OpenAICompatibleGenerator(openai_settings(anthropic_server), sleep=RecordingSleep())
    outcome = await generate(generator, Kind.QUIZ, INPUTS[Kind.QUIZ], reask_attempts=0)
    assert outcome.provider is ProviderName.OPENAI_COMPATIBLE
    assert (outcome.input_tokens, outcome.output_tokens) == (40, 20)
    [body] = anthropic_server.requests
    assert body["model"] == "local-7b" and body["stream"] is True
    assert body["messages"][0] == {"role": "system", "content": prompts.SYSTEM}


async def test_openai_compatible_retries_429_after_retry_after_and_truncation(
    anthropic_server: FakeAnthropic,
):
    text = draft(Kind.SLIDES, INPUTS[Kind.SLIDES])
    anthropic_server.script(
        Reply.error(429, retry_after=3), Reply.truncated(text, after_chunks=2), Reply.of_text(text)
    )
    sleep = RecordingSleep()
    generator = OpenAICompatibleGenerator(openai_settings(anthropic_server), sleep=sleep)
    chunks = [c async for c in generator.stream(request_for(Kind.SLIDES))]
    assert len(anthropic_server.requests) == 3 and 3.0 <= sleep.waits[0] <= 3.5 and len(sleep.waits) == 2
    restart = next(i for i, c in enumerate(chunks) if isinstance(c, Restart))
    assert "".join(c.text for c in chunks[restart:] if isinstance(c, TextDelta)) == text


async def test_openai_compatible_gives_up_and_refuses_like_anthropic(anthropic_server: FakeAnthropic):
    anthropic_server.default = lambda body: Reply.error(503)
    generator = OpenAICompatibleGenerator(
        openai_settings(anthropic_server, retries=1), sleep=RecordingSleep()
    )
    with pytest.raises(ProviderError, match="after 2 attempts"):
        await generate(generator, Kind.QUIZ, INPUTS[Kind.QUIZ], reask_attempts=0)
    anthropic_server.reset()
    anthropic_server.script(Reply.error(401, error_type="authentication_error"))
    with pytest.raises(ProviderError, match="refused"):
        await generate(generator, Kind.QUIZ, INPUTS[Kind.QUIZ], reask_attempts=0)
    assert len(anthropic_server.requests) == 1


async def test_chain_goes_anthropic_then_openai_compatible_then_offline(anthropic_server: FakeAnthropic):
    from subgraphs.generator.providers.chain import build_chain

    text = draft(Kind.QUIZ, INPUTS[Kind.QUIZ])
    settings = GeneratorSettings(
        anthropic_api_key="sk-test",
        base_url=anthropic_server.url,
        model=MODEL,
        retries=0,
        openai_base_url=anthropic_server.url + "/v1",
        openai_model="local-7b",
    )
    chain = build_chain(settings)
    assert [p.name for p in chain.providers] == ["ANTHROPIC", "OPENAI_COMPATIBLE", "OFFLINE"]
    anthropic_server.script(Reply.error(529), Reply.of_text(text))
    outcome = await generate(chain, Kind.QUIZ, INPUTS[Kind.QUIZ], reask_attempts=0)
    assert outcome.provider is ProviderName.OPENAI_COMPATIBLE and outcome.result == json.loads(text)
    assert [("messages" in r and r["messages"][0]["role"]) for r in anthropic_server.requests] == [
        "user",
        "system",
    ]
