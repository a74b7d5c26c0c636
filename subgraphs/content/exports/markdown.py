"""Lesson Markdown, parsed once, for every writer. Untrusted: raw HTML is escaped, links are limited to
safe schemes, and images resolve only to the lesson's own attachments (nothing is fetched)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from .document import Attachment, Lesson

SAFE_LINK = re.compile(r"^(https?:|mailto:|#)", re.IGNORECASE)
IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif"}


def parser() -> MarkdownIt:
    # commonmark with raw HTML off: `<script>` in a lesson is text, not markup.
    return MarkdownIt("commonmark", {"html": False})


def tokens(markdown: str) -> list[Token]:
    return parser().parse(markdown or "")


def attr(token: Token, name: str) -> str:
    """A link's href or an image's src, "" when absent (markdown-it types attributes as str | int | float)."""
    return str(token.attrGet(name) or "")


def safe_href(href: str) -> str | None:
    href = (href or "").strip()
    return href if SAFE_LINK.match(href) else None


def file_name(name: str) -> str:
    """An attachment's name as a file name inside a package: no directories, nothing odd."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "file"
    return cleaned[:120]


def attachment_for(lesson: Lesson, src: str) -> Attachment | None:
    """The attachment an image or link points at: by name, or by its file name in a package."""
    wanted = (src or "").strip()
    for attachment in lesson.attachments:
        if wanted in (attachment.name, file_name(attachment.name)) or wanted.endswith(
            "/" + file_name(attachment.name)
        ):
            return attachment
    return None


def to_html(lesson: Lesson, body: str, attachment_url: Callable[[Attachment], str]) -> str:
    """The body as an HTML fragment: images from attachments (by `attachment_url`), others as alt text."""
    md = parser()

    def image(
        renderer: RendererHTML, tokens: list[Token], index: int, options: OptionsDict, env: EnvType
    ) -> str:
        token = tokens[index]
        alt = renderer.renderInlineAsText(token.children or [], options, env)
        attachment = attachment_for(lesson, attr(token, "src"))
        if attachment is None or attachment.mime_type not in IMAGE_TYPES:
            return f'<span class="missing-image">{html.escape(alt)}</span>'
        return f'<img src="{html.escape(attachment_url(attachment))}" alt="{html.escape(alt)}">'

    def link_open(
        _renderer: RendererHTML, tokens: list[Token], index: int, options: OptionsDict, env: EnvType
    ) -> str:
        token = tokens[index]
        href = attr(token, "href")
        attachment = attachment_for(lesson, href)
        if attachment is not None:
            return f'<a href="{html.escape(attachment_url(attachment))}">'
        safe = safe_href(href)
        if safe is None:
            return "<a>"
        return f'<a href="{html.escape(safe)}" rel="noopener noreferrer" target="_blank">'

    md.add_render_rule("image", image)
    md.add_render_rule("link_open", link_open)
    return md.render(body or "")


def split_slides(markdown: str) -> list[str] | None:
    """A generated deck's parts (a body with `---` rules between slides), or None for an ordinary lesson."""
    lines = (markdown or "").splitlines()
    fence = False
    parts: list[list[str]] = [[]]
    previous = ""
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fence = not fence
        # A rule, not a setext heading underline: Markdown reads `Title\n---` as a heading.
        is_rule = re.fullmatch(r"-{3,}|\*{3,}|_{3,}", stripped.replace(" ", "")) and not previous.strip()
        previous = line
        if not fence and is_rule:
            parts.append([])
            continue
        parts[-1].append(line)
    chunks = ["\n".join(part).strip() for part in parts]
    chunks = [chunk for chunk in chunks if chunk]
    return chunks if len(parts) > 1 and chunks else None
