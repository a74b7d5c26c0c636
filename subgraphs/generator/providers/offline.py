"""OFFLINE: a deterministic generator with no network, the embedded default when no API key is set.

It writes valid structured output for each kind from the request's input alone (a syllabus has one module
per requested week), so the whole flow works on a laptop and in CI. Everything it produces says OFFLINE.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from subgraphs.contracts.generation import Kind
from subgraphs.generator.providers.base import Chunk, GenerationRequest, ProviderName, TextDelta, Usage

MODEL = "offline-v1"
CHUNK_CHARS = 48
LABEL = "[OFFLINE draft]"


def _topics(values: dict[str, Any]) -> list[str]:
    topics = values.get("topics") or []
    if isinstance(topics, str):
        topics = [t.strip() for t in topics.split(",") if t.strip()]
    return list(topics) or [str(values.get("module_title") or "Core concepts")]


def _syllabus(v: dict[str, Any]) -> dict[str, Any]:
    title = str(v.get("title") or "Untitled course")
    weeks = max(1, min(int(v.get("duration_weeks") or 1), 104))
    audience = str(v.get("audience") or "learners")
    difficulty = str(v.get("difficulty") or "BEGINNER").lower()
    return {
        "title": title,
        "overview": f"{LABEL} A {weeks}-week {difficulty} course on {title} for {audience}.",
        "learning_objectives": [
            f"Explain the core ideas of {title}",
            f"Apply {title} to realistic problems",
            f"Evaluate solutions built with {title}",
        ],
        "modules": [
            {
                "week": week,
                "title": f"{LABEL} {title} part {week}",
                "topics": [f"{LABEL} {title} topic {week}.1", f"{LABEL} {title} topic {week}.2"],
                "duration_hours": 6,
            }
            for week in range(1, weeks + 1)
        ],
        "prerequisites": [f"None beyond what {audience} already know"],
        "assessments": ["Weekly exercises", "Final project"],
    }


def _slides(v: dict[str, Any]) -> dict[str, Any]:
    module = str(v.get("module_title") or "Module")
    return {
        "title": f"{LABEL} {module}",
        "slides": [
            {"title": topic, "bullets": [f"What {topic} is", f"Why {topic} matters"], "speaker_notes": LABEL}
            for topic in _topics(v)
        ],
    }


def _exercises(v: dict[str, Any]) -> dict[str, Any]:
    language = str(v.get("language") or "python")
    count = max(1, min(int(v.get("count") or 1), 20))
    topics = _topics(v)
    return {
        "exercises": [
            {
                "title": f"{LABEL} Exercise {i}: {topics[(i - 1) % len(topics)]}",
                "instructions": f"{LABEL} Implement `solve()` for exercise {i}.",
                "language": language,
                "starter_code": "def solve():\n    raise NotImplementedError\n",
                "solution": f"def solve():\n    return {i}\n",
                "tests": f"def test_solve():\n    assert solve() == {i}\n",
            }
            for i in range(1, count + 1)
        ]
    }


def _quiz(v: dict[str, Any]) -> dict[str, Any]:
    count = max(1, min(int(v.get("question_count") or 1), 50))
    types = [t for t in (v.get("question_types") or ["MULTIPLE_CHOICE"])] or ["MULTIPLE_CHOICE"]
    topics = _topics(v)
    questions = []
    for i in range(count):
        kind = types[i % len(types)]
        topic = topics[i % len(topics)]
        if kind == "TRUE_FALSE":
            q = {"options": ["true", "false"], "correct_answers": ["true"]}
            prompt = f"{LABEL} {topic} is covered in this module."
        elif kind == "SHORT_ANSWER":
            q = {"options": [], "correct_answers": [topic]}
            prompt = f"{LABEL} Name the topic of question {i + 1}."
        else:
            q = {"options": [topic, "Something else"], "correct_answers": [topic]}
            prompt = f"{LABEL} Which of these is a topic of this module? ({i + 1})"
        questions.append({"type": kind, "prompt": prompt, "explanation": LABEL, **q})
    return {"title": f"{LABEL} Quiz: {v.get('module_title') or 'Module'}", "questions": questions}


BUILDERS = {Kind.SYLLABUS: _syllabus, Kind.SLIDES: _slides, Kind.EXERCISES: _exercises, Kind.QUIZ: _quiz}


def draft(kind: Kind, values: dict[str, Any]) -> str:
    return orjson.dumps(BUILDERS[kind](values)).decode()


class OfflineGenerator:
    name = ProviderName.OFFLINE
    model = MODEL

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Chunk]:
        text = draft(request.kind, request.input)
        for start in range(0, len(text), CHUNK_CHARS):
            yield TextDelta(text[start : start + CHUNK_CHARS])
        prompt_chars = len(request.system) + sum(len(m["content"]) for m in request.messages)
        # A rough count (4 characters a token); OFFLINE output costs nothing anyway.
        yield Usage(self.name, self.model, input_tokens=prompt_chars // 4, output_tokens=len(text) // 4)
