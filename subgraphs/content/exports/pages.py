"""Self-contained HTML pages for the packaged formats (SCORM, Common Cartridge): no CDN, no remote fetch."""

from __future__ import annotations

import html
import json

from . import markdown
from .document import Attachment, Lesson, Question, Quiz

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:46rem;margin:2rem auto;
padding:0 1rem;
line-height:1.55;color:#1f2328}
pre{background:#f6f8fa;padding:.8rem;overflow:auto}code{font-family:ui-monospace,Menlo,Consolas,monospace}
img{max-width:100%}fieldset{border:1px solid #d0d7de;margin:1rem 0;padding:.8rem}
#result{font-weight:bold;margin-top:1rem}.missing-image{font-style:italic;color:#666}
""".strip()


def page(
    title: str,
    body: str,
    *,
    head: str = "",
    scripts: tuple[str, ...] = (),
    language: str = "en",
    scorm: str = "",
) -> str:
    scorm_attr = f' data-scorm="{scorm}"' if scorm else ""
    script_tags = "".join(f'<script src="{html.escape(src)}"></script>' for src in scripts)
    return (
        f'<!DOCTYPE html>\n<html lang="{html.escape(language)}"{scorm_attr}>'
        f'<head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="CourseGraph">{head}'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style>{script_tags}</head>"
        f"<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def lesson_body(lesson: Lesson, attachment_url) -> str:  # noqa: ANN001
    return markdown.to_html(lesson, lesson.body_markdown, attachment_url)


def attachment_path(prefix: str, attachment: Attachment) -> str:
    """Where a lesson's attachment goes, under the lesson's folder (`prefix`): in `files/`, so that no name
    can collide with the page or its source."""
    return f"{prefix}files/{markdown.file_name(attachment.name)}"


def quiz_data(quiz: Quiz) -> str:
    """What the quiz page scores with. It is in the page: SCORM scores in the browser, so a learner who reads
    the source can see the answers — the LMS-side alternative is the Common Cartridge export (QTI)."""
    questions = [
        {
            "type": q.type,
            "prompt": q.prompt,
            "options": list(q.options),
            "correct": list(q.correct),
            "points": q.points,
        }
        for q in quiz.questions
    ]
    # No "<" at all inside the script element: neither "</script>" nor "<!--" can end or bend it.
    return json.dumps({"passingScore": quiz.passing_score, "questions": questions}).replace("<", "\\u003c")


def _question_html(number: int, question: Question) -> str:
    name = f"q{number}"
    prompt = f"<legend>{number}. {html.escape(question.prompt)}</legend>"
    if question.type in ("SINGLE_CHOICE", "MULTIPLE_CHOICE"):
        kind = "radio" if question.type == "SINGLE_CHOICE" else "checkbox"
        inputs = "".join(
            f'<label><input type="{kind}" name="{name}" value="{index}"> {html.escape(option)}</label><br>'
            for index, option in enumerate(question.options)
        )
    elif question.type == "TRUE_FALSE":
        inputs = (
            f'<label><input type="radio" name="{name}" value="true"> True</label><br>'
            f'<label><input type="radio" name="{name}" value="false"> False</label>'
        )
    else:
        mode = ' inputmode="decimal"' if question.type == "NUMERIC" else ""
        inputs = f'<label>Answer <input type="text" name="{name}"{mode}></label>'
    return f'<fieldset data-question="{number - 1}">{prompt}{inputs}</fieldset>'


def quiz_body(quiz: Quiz) -> str:
    questions = "".join(_question_html(i, q) for i, q in enumerate(quiz.questions, start=1))
    description = f"<p>{html.escape(quiz.description)}</p>" if quiz.description else ""
    return (
        f"{description}<p>Passing score: {quiz.passing_score}%</p>"
        f'<form id="quiz">{questions}<button type="submit">Submit answers</button></form>'
        f'<p id="result" role="status"></p>'
        f'<script type="application/json" id="quiz-data">{quiz_data(quiz)}</script>'
    )
