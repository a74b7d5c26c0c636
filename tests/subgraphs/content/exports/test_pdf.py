from __future__ import annotations

import io

from pypdf import PdfReader

from subgraphs.content.exports import ExportFormat, render

from .conftest import SECRET_ANSWERS


def _text(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


def test_render_pdf_has_every_title_and_no_answer(course) -> None:  # noqa: ANN001
    reader = PdfReader(io.BytesIO(render(ExportFormat.PDF, course)))
    text = _text(reader)
    titles = [lesson.title for module in course.modules for lesson in module.lessons]
    for title in [course.title, *titles, *(m.title for m in course.modules), "FizzBuzz", "Check your basics"]:
        assert title in text, title
    for secret in SECRET_ANSWERS:
        assert secret not in text, secret
    # The questions and their choices are there, for learners to answer.
    assert "Which keyword defines a function?" in text and "lambda" in text


def test_render_pdf_typesets_markdown(course) -> None:  # noqa: ANN001
    reader = PdfReader(io.BytesIO(render(ExportFormat.PDF, course)))
    text = _text(reader)
    assert "Contents" in text  # the table of contents page
    assert 'return f"hello {name}"' in text  # code block kept verbatim
    assert '<script>alert("x")</script>' in text  # raw HTML is text, never markup
    assert "remote image" in text  # a remote image is its alt text: nothing is fetched
    fonts = set()
    images = 0
    for page in reader.pages:
        resources = page.get("/Resources") or {}
        for font in (resources.get("/Font") or {}).values():
            fonts.add(str(font.get_object()["/BaseFont"]))
        for xobject in (resources.get("/XObject") or {}).values():
            images += xobject.get_object()["/Subtype"] == "/Image"
    assert "/Courier" in fonts  # code is monospaced
    assert images == 1  # the attached diagram, and only it
    links = [
        annotation.get_object()["/A"].get("/URI")
        for page in reader.pages
        for annotation in page.get("/Annots") or []
        if "/A" in annotation.get_object()
    ]
    assert "https://docs.python.org/3/" in links
    assert not any(str(link).startswith("javascript") for link in links)
    toc = reader.pages[1].extract_text()
    assert "Contents" in toc
    for module in course.modules:
        for lesson in module.lessons:
            assert lesson.title in toc  # the table of contents lists every lesson
    outline = [item.title for item in reader.outline if not isinstance(item, list)]
    assert outline == ["Module 1: Getting started", "Module 2: Data structures", "Exercises", "Quizzes"]
    assert [item.title for item in reader.outline[1]] == ["Installing Python", "Generated slides"]
