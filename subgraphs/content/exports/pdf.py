"""PDF: a typeset book with reportlab's Platypus — title page, table of contents, modules and lessons
from Markdown, exercises, and quizzes without their answers (the PDF is for learners)."""

from __future__ import annotations

import html
import io

from markdown_it.token import Token
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import (
    Flowable,
    HRFlowable,
    Image,
    KeepTogether,
    ListFlowable,
    ListItem,
    PageBreak,
    Paragraph,
    Preformatted,
    Spacer,
)
from reportlab.platypus.doctemplate import BaseDocTemplate, PageTemplate
from reportlab.platypus.frames import Frame
from reportlab.platypus.tableofcontents import TableOfContents

from . import markdown
from .document import CourseDocument, Lesson, Question

_BASE = getSampleStyleSheet()
STYLES = {
    "title": ParagraphStyle("CGTitle", parent=_BASE["Title"], fontSize=28, leading=34, spaceAfter=24),
    "subtitle": ParagraphStyle(
        "CGSubtitle", parent=_BASE["Normal"], fontSize=13, leading=18, alignment=TA_CENTER
    ),
    "part": ParagraphStyle(
        "CGPart", parent=_BASE["Heading1"], fontSize=22, leading=28, spaceAfter=12, keepWithNext=1
    ),
    "chapter": ParagraphStyle(
        "CGChapter", parent=_BASE["Heading2"], fontSize=17, leading=22, spaceBefore=12, keepWithNext=1
    ),
    "h1": ParagraphStyle("CGH1", parent=_BASE["Heading3"], fontSize=14, leading=18, keepWithNext=1),
    "h2": ParagraphStyle("CGH2", parent=_BASE["Heading4"], fontSize=12, leading=16, keepWithNext=1),
    "h3": ParagraphStyle("CGH3", parent=_BASE["Heading5"], fontSize=11, leading=14, keepWithNext=1),
    "body": ParagraphStyle("CGBody", parent=_BASE["BodyText"], fontSize=10.5, leading=14.5, spaceAfter=6),
    "quote": ParagraphStyle(
        "CGQuote", parent=_BASE["BodyText"], leftIndent=18, textColor=colors.HexColor("#444444")
    ),
    "code": ParagraphStyle(
        "CGCode",
        parent=_BASE["Code"],
        fontName="Courier",
        fontSize=8.5,
        leading=11,
        leftIndent=8,
        rightIndent=8,
        spaceBefore=4,
        spaceAfter=8,
    ),
    "toc0": ParagraphStyle("CGToc0", fontName="Helvetica-Bold", fontSize=11, leading=16, leftIndent=0),
    "toc1": ParagraphStyle("CGToc1", fontName="Helvetica", fontSize=10, leading=14, leftIndent=16),
}


class _Book(BaseDocTemplate):
    """Registers the part and chapter headings in the table of contents and as PDF bookmarks."""

    def __init__(self, buffer: io.BytesIO, title: str) -> None:
        super().__init__(
            buffer,
            pagesize=A4,
            title=title,
            author="CourseGraph",
            leftMargin=2.2 * cm,
            rightMargin=2.2 * cm,
            topMargin=2 * cm,
            bottomMargin=2 * cm,
        )
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body")
        self.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=self._footer)])
        self._course_title = title

    def _footer(self, canvas, doc) -> None:  # noqa: ANN001
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(colors.grey)
        canvas.drawString(self.leftMargin, 1.2 * cm, self._course_title[:90])
        canvas.drawRightString(self.leftMargin + self.width, 1.2 * cm, str(doc.page))
        canvas.restoreState()

    def afterFlowable(self, flowable: Flowable) -> None:  # noqa: N802 - reportlab's hook
        if not isinstance(flowable, _Heading) or flowable.toc_level is None:
            return
        level = flowable.toc_level
        text = flowable.getPlainText()
        key = f"toc-{id(flowable)}"
        self.canv.bookmarkPage(key)
        self.canv.addOutlineEntry(text, key, level=level, closed=level > 0)
        self.notify("TOCEntry", (level, text, self.page, key))


class _Heading(Paragraph):
    # The level the table of contents lists it at; None on the parts reportlab splits a heading into.
    toc_level: int | None = None


def _heading(text: str, style: str, level: int) -> Paragraph:
    heading = _Heading(html.escape(text), STYLES[style])
    heading.toc_level = level
    return heading


def _inline(children: list[Token]) -> str:
    """Inline tokens as reportlab paragraph markup; user text is always escaped."""
    out: list[str] = []
    closing: list[str] = []  # one entry per open link: a real link, or underlined text for an unsafe one
    simple = {
        "strong_open": "<b>",
        "strong_close": "</b>",
        "em_open": "<i>",
        "em_close": "</i>",
        "softbreak": " ",
        "hardbreak": "<br/>",
    }
    for token in children:
        kind = token.type
        if kind == "text":
            out.append(html.escape(token.content))
        elif kind == "code_inline":
            out.append(f'<font face="Courier">{html.escape(token.content)}</font>')
        elif kind in simple:
            out.append(simple[kind])
        elif kind == "link_open":
            href = markdown.safe_href(markdown.attr(token, "href"))
            out.append(f'<a href="{html.escape(href)}" color="#1a56db">' if href else "<u>")
            closing.append("</a>" if href else "</u>")
        elif kind == "link_close" and closing:
            out.append(closing.pop())
        elif kind == "image":
            out.append(f"[{html.escape(token.content or 'image')}]")
    return "".join(out)


def _image(lesson: Lesson, token: Token, width: float) -> Flowable | None:
    attachment = markdown.attachment_for(lesson, markdown.attr(token, "src"))
    if attachment is None or attachment.mime_type not in markdown.IMAGE_TYPES:
        return None
    try:
        image = Image(io.BytesIO(attachment.data))
    except Exception:  # noqa: BLE001 - a broken image becomes its alt text, the book still builds
        return None
    scale = min(1.0, width / image.imageWidth, (12 * cm) / image.imageHeight)
    image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
    return image


def _blocks(lesson: Lesson, tokens: list[Token], width: float) -> list[Flowable]:
    """Block tokens to flowables: headings, paragraphs (and images), lists, code, quotes, rules."""
    flowables: list[Flowable] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        kind = token.type
        if kind == "heading_open":
            level = min(int(token.tag[1]), 3)
            flowables.append(Paragraph(_inline(tokens[index + 1].children or []), STYLES[f"h{level}"]))
            index += 3
            continue
        if kind == "paragraph_open":
            inline = tokens[index + 1].children or []
            images = [child for child in inline if child.type == "image"]
            text = _inline(inline).strip()
            if text and not (images and len(images) == len(inline)):
                flowables.append(Paragraph(text, STYLES["body"]))
            for child in images:
                image = _image(lesson, child, width)
                if image is not None:
                    flowables.append(image)
                elif len(images) == len(inline):
                    flowables.append(Paragraph(f"[{html.escape(child.content or 'image')}]", STYLES["body"]))
            index += 3
            continue
        if kind in ("fence", "code_block"):
            flowables.append(Preformatted(token.content.rstrip("\n"), STYLES["code"], maxLineLength=95))
        elif kind == "hr":
            flowables.append(HRFlowable(width="100%", color=colors.lightgrey, spaceBefore=6, spaceAfter=6))
        elif kind in ("bullet_list_open", "ordered_list_open", "blockquote_open"):
            end = _matching_close(tokens, index)
            inner = tokens[index + 1 : end]
            if kind == "blockquote_open":
                for flowable in _blocks(lesson, inner, width - 18):
                    if isinstance(flowable, Paragraph):
                        flowable = Paragraph(flowable.text, STYLES["quote"])
                    flowables.append(flowable)
            else:
                flowables.append(_list(lesson, kind, token, inner, width))
            index = end + 1
            continue
        index += 1
    return flowables


def _list(lesson: Lesson, kind: str, token: Token, inner: list[Token], width: float) -> ListFlowable:
    items: list[ListItem] = []
    index = 0
    while index < len(inner):
        if inner[index].type == "list_item_open":
            end = _matching_close(inner, index)
            content = _blocks(lesson, inner[index + 1 : end], width - 18) or [Paragraph("", STYLES["body"])]
            items.append(ListItem(content))
            index = end + 1
        else:
            index += 1
    ordered = kind == "ordered_list_open"
    start = int(token.attrGet("start") or 1) if ordered else "•"
    return ListFlowable(items, bulletType="1" if ordered else "bullet", start=start, leftIndent=18)  # pyright: ignore[reportArgumentType]  # stubs omit ListItem


def _matching_close(tokens: list[Token], start: int) -> int:
    depth = 0
    for index in range(start, len(tokens)):
        depth += tokens[index].nesting
        if depth == 0:
            return index
    return len(tokens) - 1


def _question(number: int, question: Question) -> Flowable:
    """A question as a learner sees it: the prompt and the choices; never the answer or explanation."""
    parts: list[Flowable] = [Paragraph(f"<b>{number}.</b> {html.escape(question.prompt)}", STYLES["body"])]
    option_style = ParagraphStyle("CGOption", parent=STYLES["body"], leftIndent=18)
    if question.type in ("SINGLE_CHOICE", "MULTIPLE_CHOICE"):
        # ASCII boxes: the standard PDF fonts have no circle or box glyphs.
        mark = "( )" if question.type == "SINGLE_CHOICE" else "[ ]"
        if question.type == "MULTIPLE_CHOICE":
            parts[0] = Paragraph(
                f"<b>{number}.</b> {html.escape(question.prompt)} <i>(choose all that apply)</i>",
                STYLES["body"],
            )
        for option in question.options:
            parts.append(Paragraph(f"{mark} {html.escape(option)}", option_style))
    elif question.type == "TRUE_FALSE":
        parts.append(Paragraph("( ) True &nbsp;&nbsp;&nbsp; ( ) False", option_style))
    else:
        parts.append(Paragraph("Answer: ________________________________", option_style))
    points = f"{question.points} point{'s' if question.points != 1 else ''}"
    parts.append(Paragraph(f"<font size='8' color='#777777'>{points}</font>", STYLES["body"]))
    return KeepTogether(parts)


def render_pdf(doc: CourseDocument) -> bytes:
    buffer = io.BytesIO()
    book = _Book(buffer, doc.title)
    width = book.width
    story: list[Flowable] = [Spacer(1, 6 * cm), Paragraph(html.escape(doc.title), STYLES["title"])]
    if doc.description:
        story.append(Paragraph(html.escape(doc.description), STYLES["subtitle"]))
    facts = " · ".join(part for part in (doc.category, doc.difficulty.title(), doc.language.upper()) if part)
    story += [Spacer(1, 1 * cm), Paragraph(html.escape(facts), STYLES["subtitle"]), PageBreak()]

    toc = TableOfContents(levelStyles=[STYLES["toc0"], STYLES["toc1"]], dotsMinLevel=0)
    story += [Paragraph("Contents", STYLES["part"]), toc, PageBreak()]

    for number, module in enumerate(doc.modules, start=1):
        story.append(_heading(f"Module {number}: {module.title}", "part", 0))
        for lesson in module.lessons:
            story.append(_heading(lesson.title, "chapter", 1))
            story += _blocks(lesson, markdown.tokens(lesson.body_markdown), width)
        story.append(PageBreak())

    if doc.exercises:
        story.append(_heading("Exercises", "part", 0))
        for exercise in doc.exercises:
            story.append(_heading(exercise.title, "chapter", 1))
            story.append(Paragraph(f"<i>Language: {html.escape(exercise.language)}</i>", STYLES["body"]))
            story += _blocks(
                Lesson(title=exercise.title), markdown.tokens(exercise.instructions_markdown), width
            )
        story.append(PageBreak())

    if doc.quizzes:
        story.append(_heading("Quizzes", "part", 0))
        for quiz in doc.quizzes:
            story.append(_heading(quiz.title, "chapter", 1))
            if quiz.description:
                story.append(Paragraph(html.escape(quiz.description), STYLES["body"]))
            story.append(Paragraph(f"<i>Passing score: {quiz.passing_score}%</i>", STYLES["body"]))
            for number, question in enumerate(quiz.questions, start=1):
                story.append(_question(number, question))

    book.multiBuild(story)
    return buffer.getvalue()
