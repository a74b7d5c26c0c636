"""PPTX with python-pptx: one deck per course — a title slide, then a PowerPoint section per module
(a section-header slide, then the lessons' slides). A lesson whose body has `---` rules between parts is a
generated deck: one slide per part. Other lessons become a slide per heading, with their bullets."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field

from lxml import etree  # pyright: ignore[reportAttributeAccessIssue]  # compiled, without stubs
from markdown_it.token import Token
from pptx import Presentation
from pptx.shapes.autoshape import Shape
from pptx.slide import Slide
from pptx.util import Pt

from . import markdown
from .document import CourseDocument, Lesson

MAX_BULLETS = 9  # more than this on one slide is unreadable: it continues on the next slide
P14 = "http://schemas.microsoft.com/office/powerpoint/2010/main"
SECTIONS_EXT = "{521415D9-36F7-43E2-AB2F-B90AF26B5E84}"
LAYOUT_TITLE, LAYOUT_CONTENT, LAYOUT_SECTION = 0, 1, 2


@dataclass
class SlideText:
    title: str
    bullets: list[tuple[int, str, bool]] = field(default_factory=list)  # (level, text, monospace)


def _inline_text(token: Token) -> str:
    return "".join(
        child.content if child.type in ("text", "code_inline") else " " if child.type == "softbreak" else ""
        for child in token.children or []
    ).strip()


def _bullets(tokens: list[Token]) -> list[tuple[int, str, bool]]:
    bullets: list[tuple[int, str, bool]] = []
    depth = 0
    for index, token in enumerate(tokens):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
        elif token.type == "inline" and tokens[index - 1].type == "paragraph_open":
            text = _inline_text(token)
            if text:
                bullets.append((max(depth - 1, 0), text, False))
        elif token.type in ("fence", "code_block"):
            for line in token.content.rstrip("\n").splitlines()[:12]:
                bullets.append((1, line, True))
    return bullets


def _slides_of(title: str, body: str) -> list[SlideText]:
    """One slide per heading section; the text before the first heading goes under the lesson's title."""
    slides = [SlideText(title)]
    section: list[Token] = []
    tokens = markdown.tokens(body)
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "heading_open":
            slides[-1].bullets += _bullets(section)
            section = []
            slides.append(SlideText(_inline_text(tokens[index + 1])))
            index += 3
            continue
        section.append(token)
        index += 1
    slides[-1].bullets += _bullets(section)
    if len(slides) > 1 and not slides[0].bullets:
        slides.pop(0)  # the lesson opened with a heading: no empty title-only slide
    return slides


def lesson_slides(lesson: Lesson) -> list[SlideText]:
    parts = markdown.split_slides(lesson.body_markdown)
    if parts is None:
        slides = _slides_of(lesson.title, lesson.body_markdown)
    else:
        slides = []
        for part in parts:
            part_slides = _slides_of(lesson.title, part)
            # a part is one slide: its heading is the title, everything under it the bullets
            merged = SlideText(part_slides[0].title)
            for slide in part_slides:
                if slide is not part_slides[0]:
                    merged.bullets.append((0, slide.title, False))
                merged.bullets += slide.bullets
            slides.append(merged)
    out: list[SlideText] = []
    for slide in slides:
        chunks = [slide.bullets[i : i + MAX_BULLETS] for i in range(0, len(slide.bullets), MAX_BULLETS)] or [
            []
        ]
        for number, chunk in enumerate(chunks):
            out.append(SlideText(slide.title if number == 0 else f"{slide.title} (cont.)", chunk))
    return out


def _title_and_body(slide: Slide) -> tuple[Shape, Shape]:
    """The slide's title and body placeholders: python-pptx types them as optional and as any shape."""
    title, body = slide.shapes.title, slide.placeholders[1]
    assert title is not None and isinstance(body, Shape)  # every layout used here has both
    return title, body


def _fill(slide: Slide, text: SlideText) -> None:
    title, placeholder = _title_and_body(slide)
    title.text = text.title
    body = placeholder.text_frame
    body.clear()
    for index, (level, line, mono) in enumerate(text.bullets):
        paragraph = body.paragraphs[0] if index == 0 else body.add_paragraph()
        paragraph.text = line
        paragraph.level = min(level, 4)
        if mono:
            for run in paragraph.runs:
                run.font.name = "Courier New"
                run.font.size = Pt(14)


def _add_sections(prs, sections: list[tuple[str, list[int]]]) -> None:  # noqa: ANN001
    """PowerPoint sections (p14:sectionLst in presentation.xml); python-pptx has no API for them."""
    root = prs.part._element
    ext_list = root.find("{http://schemas.openxmlformats.org/presentationml/2006/main}extLst")
    if ext_list is None:
        ext_list = etree.SubElement(
            root, "{http://schemas.openxmlformats.org/presentationml/2006/main}extLst"
        )
    ext = etree.SubElement(
        ext_list, "{http://schemas.openxmlformats.org/presentationml/2006/main}ext", uri=SECTIONS_EXT
    )
    section_list = etree.SubElement(ext, f"{{{P14}}}sectionLst", nsmap={"p14": P14})
    for number, (name, slide_ids) in enumerate(sections):
        section = etree.SubElement(
            section_list,
            f"{{{P14}}}section",
            name=name,
            id="{" + str(uuid.uuid5(uuid.NAMESPACE_OID, f"{number}:{name}")).upper() + "}",
        )
        ids = etree.SubElement(section, f"{{{P14}}}sldIdLst")
        for slide_id in slide_ids:
            etree.SubElement(ids, f"{{{P14}}}sldId", id=str(slide_id))


def render_pptx(doc: CourseDocument) -> bytes:
    prs = Presentation()
    cover = prs.slides.add_slide(prs.slide_layouts[LAYOUT_TITLE])
    title, subtitle = _title_and_body(cover)
    title.text = doc.title
    subtitle.text = doc.description or " · ".join(p for p in (doc.category, doc.difficulty.title()) if p)
    sections: list[tuple[str, list[int]]] = [("Introduction", [cover.slide_id])]

    for number, module in enumerate(doc.modules, start=1):
        header = prs.slides.add_slide(prs.slide_layouts[LAYOUT_SECTION])
        title, subtitle = _title_and_body(header)
        title.text = f"Module {number}: {module.title}"
        subtitle.text = f"{len(module.lessons)} lesson{'s' if len(module.lessons) != 1 else ''}"
        ids = [header.slide_id]
        for lesson in module.lessons:
            for text in lesson_slides(lesson):
                slide = prs.slides.add_slide(prs.slide_layouts[LAYOUT_CONTENT])
                _fill(slide, text)
                ids.append(slide.slide_id)
        sections.append((module.title, ids))

    if doc.quizzes:
        ids = []
        for quiz in doc.quizzes:
            prompts = [(0, f"{i}. {q.prompt}", False) for i, q in enumerate(quiz.questions, start=1)]
            for start in range(0, max(len(prompts), 1), MAX_BULLETS):
                slide = prs.slides.add_slide(prs.slide_layouts[LAYOUT_CONTENT])
                suffix = "" if start == 0 else " (cont.)"
                _fill(slide, SlideText(quiz.title + suffix, prompts[start : start + MAX_BULLETS]))
                ids.append(slide.slide_id)
        sections.append(("Quizzes", ids))

    _add_sections(prs, sections)
    buffer = io.BytesIO()
    prs.save(buffer)
    return buffer.getvalue()
