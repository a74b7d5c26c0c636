"""What a generation job is asked: the validated, normalized prompt values (InvalidInput naming the
mutation's input fields), and the result cache keyed by them."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson

from subgraphs.contracts.generation import Kind
from subgraphs.contracts.vocabulary import Difficulty
from subgraphs.core.cache import Cache
from subgraphs.core.errors import InvalidInput
from subgraphs.generator import prompts


def _text(values: dict[str, Any], name: str, errors: dict[str, str], *, max_length: int = 200) -> str:
    value = " ".join(str(values.get(name) or "").split())
    if not value:
        errors[f"input.{name}"] = "Required."
    elif len(value) > max_length:
        errors[f"input.{name}"] = f"At most {max_length} characters."
    return value


def _count(values: dict[str, Any], name: str, errors: dict[str, str], low: int, high: int) -> int:
    value = values.get(name)
    if not isinstance(value, int) or not low <= value <= high:
        errors[f"input.{name}"] = f"Must be between {low} and {high}."
        return low
    return value


def _topics(values: dict[str, Any], errors: dict[str, str]) -> list[str]:
    topics = [" ".join(str(t).split()) for t in values.get("topics") or []]
    topics = [t for t in topics if t]
    if len(topics) > 30 or any(len(t) > 200 for t in topics):
        errors["input.topics"] = "At most 30 topics of at most 200 characters."
    return topics


def prompt_values(kind: Kind, values: dict[str, Any]) -> dict[str, Any]:
    """The validated, normalized values the prompt is rendered from (raises InvalidInput)."""
    errors: dict[str, str] = {}
    if kind is Kind.SYLLABUS:
        clean: dict[str, Any] = {
            "title": _text(values, "title", errors),
            "audience": _text(values, "audience", errors, max_length=500),
            "duration_weeks": _count(values, "duration_weeks", errors, 1, 52),
            "difficulty": str(values.get("difficulty") or Difficulty.BEGINNER),
        }
        if clean["difficulty"] not in Difficulty.__members__:
            errors["input.difficulty"] = "BEGINNER, INTERMEDIATE or ADVANCED."
    else:
        clean = {
            "course_title": _text(values, "course_title", errors),
            "module_title": _text(values, "module_title", errors),
            "topics": _topics(values, errors),
        }
        if kind is Kind.EXERCISES:
            clean["count"] = _count(values, "count", errors, 1, 20)
            clean["language"] = _text(values, "language", errors, max_length=32).lower()
        if kind is Kind.QUIZ:
            clean["question_count"] = _count(values, "question_count", errors, 1, 50)
            types = [str(t) for t in values.get("question_types") or ["MULTIPLE_CHOICE"]]
            if not types or any(t not in ("MULTIPLE_CHOICE", "TRUE_FALSE", "SHORT_ANSWER") for t in types):
                errors["input.questionTypes"] = "MULTIPLE_CHOICE, TRUE_FALSE or SHORT_ANSWER."
            clean["question_types"] = sorted(set(types))
    if errors:
        raise InvalidInput(errors)
    return clean


def cache_key(kind: Kind, model: str, values: dict[str, Any]) -> str:
    """(kind, prompt template version, model, normalized input) → a stable key."""
    normalized = {
        k: (re.sub(r"\s+", " ", v).strip().lower() if isinstance(v, str) else v) for k, v in values.items()
    }
    digest = hashlib.sha256(
        orjson.dumps(
            [kind.value, prompts.TEMPLATES[kind].version, model, normalized], option=orjson.OPT_SORT_KEYS
        )
    ).hexdigest()
    return f"{kind.value.lower()}:{prompts.TEMPLATES[kind].version}:{model}:{digest}"


def result_cache(redis: Any) -> Cache:
    return Cache(redis, "generator")
