from __future__ import annotations

import io

from pptx import Presentation

from subgraphs.content.exports import ExportFormat, render


def test_render_pptx_has_sections_and_slides(course) -> None:  # noqa: ANN001
    deck = Presentation(io.BytesIO(render(ExportFormat.PPTX, course)))
    titles = [slide.shapes.title.text for slide in deck.slides]
    assert titles == [
        "Python Foundations",
        "Module 1: Getting started",
        "Install Python",  # an ordinary lesson: a slide per heading
        "Why Python",  # the generated deck: one slide per `---` part
        "The REPL",
        "Next steps",
        "Module 2: Data structures",
        "Lists",
        "Indexing",
        "Dictionaries",
        "Check your basics",
    ]
    bullets = [p.text for p in deck.slides[2].placeholders[1].text_frame.paragraphs]
    assert "one" in bullets and "nested" in bullets and '    return f"hello {name}"' in bullets
    xml = deck.part._element.xml
    for name in ("Introduction", "Getting started", "Data structures", "Quizzes"):
        assert f'name="{name}"' in xml  # a PowerPoint section per module
