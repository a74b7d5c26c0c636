"""Versioned prompt templates. Changing a template's text means a new version (the cache key holds it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from subgraphs.contracts.generation import Kind

SYSTEM = (
    "You are an expert curriculum designer for a course-creator platform. "
    "Answer with one JSON object only: no prose, no Markdown code fences."
)


@dataclass(frozen=True)
class PromptTemplate:
    kind: Kind
    version: str
    template: str

    def render(self, values: dict[str, Any]) -> str:
        return self.template.format(**values)


# From the original design's SYLLABUS_PROMPT (course-creator-platform-architecture-v3.1, "Course Generator
# Service"), with the JSON-only instruction and the week count made binding.
SYLLABUS = PromptTemplate(
    Kind.SYLLABUS,
    "syllabus-v1",
    """You are an expert curriculum designer. Create a comprehensive course syllabus.

Course Title: {title}
Target Audience: {audience}
Duration: {duration_weeks} weeks
Difficulty: {difficulty}

Generate a structured syllabus with:
1. Course overview and learning objectives
2. Week-by-week breakdown (one module per week, weeks 1 to {duration_weeks})
3. Key topics and subtopics
4. Prerequisites
5. Assessment methods

Format the output as JSON with this structure:
{{
    "title": "...",
    "overview": "...",
    "learning_objectives": [...],
    "modules": [
        {{
            "week": 1,
            "title": "...",
            "topics": [...],
            "duration_hours": 8
        }}
    ],
    "prerequisites": [...],
    "assessments": [...]
}}
""",
)

SLIDES = PromptTemplate(
    Kind.SLIDES,
    "slides-v1",
    """Create lecture slides for one module of a course.

Course: {course_title}
Module: {module_title}
Topics: {topics}

Format the output as JSON: {{"title": "...", "slides": [{{"title": "...", "bullets": ["..."],
"speaker_notes": "..."}}]}} with 6 to 15 slides of at most 6 bullets each.
""",
)

EXERCISES = PromptTemplate(
    Kind.EXERCISES,
    "exercises-v1",
    """Create {count} hands-on coding exercises in {language} for one module of a course.

Course: {course_title}
Module: {module_title}
Topics: {topics}

Format the output as JSON: {{"exercises": [{{"title": "...", "instructions": "... (Markdown)",
"language": "{language}", "starter_code": "...", "solution": "...", "tests": "..."}}]}}
""",
)

QUIZ = PromptTemplate(
    Kind.QUIZ,
    "quiz-v1",
    """Create a quiz of {question_count} questions for one module of a course.

Course: {course_title}
Module: {module_title}
Topics: {topics}
Question types to use: {question_types}

Format the output as JSON: {{"title": "...", "questions": [{{"type": "MULTIPLE_CHOICE | TRUE_FALSE |
SHORT_ANSWER", "prompt": "...", "options": ["..."], "correct_answers": ["..."], "explanation": "..."}}]}}.
Correct answers of a multiple-choice question are among its options; a true/false question has options
["true", "false"] and correct_answers ["true"] or ["false"].
""",
)

TEMPLATES: dict[Kind, PromptTemplate] = {t.kind: t for t in (SYLLABUS, SLIDES, EXERCISES, QUIZ)}


def render(kind: Kind, values: dict[str, Any]) -> str:
    shown = {k: (", ".join(map(str, v)) if isinstance(v, list) else v) for k, v in values.items()}
    return TEMPLATES[kind].render(shown)


def reask(errors: list[dict[str, Any]]) -> str:
    """The follow-up turn after invalid output: the validation errors, and the instruction to fix them."""
    problems = json.dumps(errors, default=str, indent=1)[:4000]
    return (
        "Your answer was not valid. These are the validation errors:\n"
        f"{problems}\n"
        "Answer again with the complete, corrected JSON object only."
    )
