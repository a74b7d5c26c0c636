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


def test_lesson_slides_tell_a_deck_from_a_setext_heading() -> None:
    from subgraphs.content.exports.document import Lesson
    from subgraphs.content.exports.powerpoint import lesson_slides

    # `Title` underlined by `---` is a Markdown heading, not a slide break.
    setext = lesson_slides(Lesson("L", "Intro text\n\nOverview\n---\n\n- a\n- b"))
    assert [s.title for s in setext] == ["L", "Overview"]
    deck = lesson_slides(Lesson("L", "## One\n- a\n\n---\n\n## Two\n- b"))
    assert [(s.title, [b[1] for b in s.bullets]) for s in deck] == [("One", ["a"]), ("Two", ["b"])]
    long = lesson_slides(Lesson("L", "\n".join(f"- item {i}" for i in range(12))))
    assert [s.title for s in long] == ["L", "L (cont.)"] and len(long[0].bullets) == 9
