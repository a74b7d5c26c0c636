"""One generation: prompt → streamed text → JSON → Pydantic validation, re-asked on invalid output.

Invalid output (not JSON, or JSON the kind's model refuses) is sent back to the model with the validation
errors, at most `reask_attempts` times; then `GenerationFailed` says why. Tokens of every attempt count.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from subgraphs.contracts.generation import RESULT_MODELS, Kind
from subgraphs.generator import prompts
from subgraphs.generator.providers.base import (
    GenerationRequest,
    Message,
    ProviderName,
    Restart,
    TextDelta,
    TextGenerator,
    Usage,
)

# Progress callback: (characters received in this attempt, text so far, attempt number).
OnText = Callable[[str, int], Awaitable[None]]


class GenerationFailed(Exception):
    def __init__(self, reason: str, *, usage: list[Usage]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.usage = usage


@dataclass(frozen=True)
class Outcome:
    result: dict[str, Any]
    provider: ProviderName
    model: str
    input_tokens: int
    output_tokens: int
    attempts: int


def extract_json(text: str) -> Any:
    """The JSON object in `text`, tolerating Markdown code fences and prose around it."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        stripped = stripped.rsplit("```", 1)[0]
    start, end = stripped.find("{"), stripped.rfind("}")
    if start == -1 or end < start:
        raise ValueError("no JSON object in the answer")
    return json.loads(stripped[start : end + 1])


def validate(kind: Kind, text: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(validated result, []) or (None, errors)."""
    try:
        data = extract_json(text)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        return None, [{"loc": [], "msg": f"not a JSON object: {exc}"}]
    try:
        model = RESULT_MODELS[kind].model_validate(data)
    except ValidationError as exc:
        return None, [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
    return model.model_dump(mode="json"), []


def _describe(errors: list[dict[str, Any]]) -> str:
    shown = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'answer'}: {e['msg']}" for e in errors[:5])
    more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
    return shown + more


async def generate(
    generator: TextGenerator,
    kind: Kind,
    values: dict[str, Any],
    *,
    reask_attempts: int,
    on_text: OnText | None = None,
) -> Outcome:
    messages: list[Message] = [{"role": "user", "content": prompts.render(kind, values)}]
    usage: list[Usage] = []
    attempts = 0
    while True:
        attempts += 1
        parts: list[str] = []
        final: Usage | None = None
        async for chunk in generator.stream(
            GenerationRequest(kind=kind, input=values, system=prompts.SYSTEM, messages=list(messages))
        ):
            if isinstance(chunk, TextDelta):
                parts.append(chunk.text)
                if on_text is not None:
                    await on_text("".join(parts), attempts)
            elif isinstance(chunk, Restart):
                parts.clear()
            elif isinstance(chunk, Usage):
                final = chunk
        if final is not None:
            usage.append(final)
        text = "".join(parts)
        result, errors = validate(kind, text)
        if result is not None and final is not None:
            return Outcome(
                result=result,
                provider=final.provider,
                model=final.model,
                input_tokens=sum(u.input_tokens for u in usage),
                output_tokens=sum(u.output_tokens for u in usage),
                attempts=attempts,
            )
        if attempts > reask_attempts:
            raise GenerationFailed(
                f"The model's output was still invalid after {attempts} attempts: {_describe(errors)}",
                usage=usage,
            )
        messages.extend(
            [
                {"role": "assistant", "content": text or "(empty)"},
                {"role": "user", "content": prompts.reask(errors)},
            ]
        )
