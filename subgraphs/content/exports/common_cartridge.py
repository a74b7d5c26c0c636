"""IMS Common Cartridge 1.3: a manifest, lessons as webcontent (HTML plus their Markdown source, so our own
cartridges come back exactly), quizzes as QTI 1.2 (CC profile); and the reader, which also takes what Canvas
and Moodle export (modules from the organization, webcontent, web links, discussions, QTI quizzes)."""

from __future__ import annotations

import html as html_lib
import json
import mimetypes
import posixpath
import re
from urllib.parse import unquote
from xml.sax.saxutils import escape, quoteattr

from lxml import etree  # pyright: ignore[reportAttributeAccessIssue]  # compiled, without stubs

from . import markdown, pages, qti
from .archive import read_zip, write_zip
from .document import Attachment, CourseDocument, Exercise, Lesson, Module, Quiz
from .errors import InvalidCartridgeError

CC_NS = "http://www.imsglobal.org/xsd/imsccv1p3/imscp_v1p1"
LOMM_NS = "http://ltsc.ieee.org/xsd/imsccv1p3/LOM/manifest"
LOMR_NS = "http://ltsc.ieee.org/xsd/imsccv1p3/LOM/resource"
ASSESSMENT = "imsqti_xmlv1p2/imscc_xmlv1p3/assessment"
LEARNING_APP = "associatedcontent/imscc_xmlv1p3/learning-application-resource"
SETTINGS_FILE = "coursegraph/course.json"
KIND_META = "coursegraph:kind"


def _title(text: str) -> str:
    return f"<title>{escape(text)}</title>"


def _leaf(identifier: str, title: str) -> str:
    return f'<item identifier="I_{identifier}" identifierref="R_{identifier}">{_title(title)}</item>'


def render_common_cartridge(doc: CourseDocument) -> bytes:
    files: dict[str, bytes] = {}
    resources: list[str] = []

    def webcontent(
        identifier: str,
        folder: str,
        title: str,
        body_html: str,
        source: str,
        kind: str,
        attachments: tuple[Attachment, ...] = (),
        language: str = "",
    ) -> None:
        head = f'<meta name="{KIND_META}" content="{kind}">'
        if language:
            head += f'<meta name="coursegraph:language" content="{html_lib.escape(language)}">'
        href = f"{folder}index.html"
        files[href] = pages.page(title, body_html, head=head, language=doc.language).encode()
        files[f"{folder}source.md"] = source.encode()
        names = [href, f"{folder}source.md"]
        for attachment in attachments:
            path = pages.attachment_path(folder, attachment)
            if path not in files:
                files[path] = attachment.data
                names.append(path)
        entries = "".join(f"<file href={quoteattr(name)}/>" for name in names)
        resources.append(
            f'<resource identifier="R_{identifier}" type="webcontent" href={quoteattr(href)}>'
            f"{entries}</resource>"
        )

    items: list[str] = []
    for m, module in enumerate(doc.modules, start=1):
        children = []
        for n, lesson in enumerate(module.lessons, start=1):
            identifier = f"L{m}_{n}"
            body = pages.lesson_body(lesson, lambda a: pages.attachment_path("", a))
            webcontent(
                identifier,
                f"lessons/{identifier}/",
                lesson.title,
                body,
                lesson.body_markdown,
                "lesson",
                lesson.attachments,
            )
            children.append(_leaf(identifier, lesson.title))
        items.append(f'<item identifier="I_M{m}">{_title(module.title)}{"".join(children)}</item>')

    if doc.exercises:
        children = []
        for n, exercise in enumerate(doc.exercises, start=1):
            identifier = f"E{n}"
            body = markdown.to_html(Lesson(exercise.title), exercise.instructions_markdown, lambda a: a.name)
            webcontent(
                identifier,
                f"exercises/{identifier}/",
                exercise.title,
                body,
                exercise.instructions_markdown,
                "exercise",
                language=exercise.language,
            )
            children.append(_leaf(identifier, exercise.title))
        items.append(f'<item identifier="I_EXERCISES">{_title("Exercises")}{"".join(children)}</item>')

    quiz_settings = {}
    if doc.quizzes:
        children = []
        for n, quiz in enumerate(doc.quizzes, start=1):
            identifier = f"Q{n}"
            path = f"quizzes/{identifier}/assessment.xml"
            files[path] = qti.write_assessment(identifier, quiz)
            resources.append(
                f'<resource identifier="R_{identifier}" type="{ASSESSMENT}"><file href="{path}"/></resource>'
            )
            children.append(_leaf(identifier, quiz.title))
            quiz_settings[identifier] = {"description": quiz.description, "passing_score": quiz.passing_score}
        items.append(f'<item identifier="I_QUIZZES">{_title("Quizzes")}{"".join(children)}</item>')

    # What CC has no place for (category, difficulty, quiz passing scores) rides along as our own file.
    settings = {
        "category": doc.category,
        "difficulty": doc.difficulty,
        "language": doc.language,
        "quizzes": quiz_settings,
    }
    files[SETTINGS_FILE] = json.dumps(settings, indent=2).encode()
    resources.append(
        f'<resource identifier="R_SETTINGS" type="{LEARNING_APP}"><file href="{SETTINGS_FILE}"/></resource>'
    )

    description = (
        f"<lomm:description><lomm:string language={quoteattr(doc.language)}>{escape(doc.description)}"
        "</lomm:string></lomm:description>"
        if doc.description
        else ""
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<manifest identifier="coursegraph.cartridge" xmlns="{CC_NS}" '
        f'xmlns:lomm="{LOMM_NS}" xmlns:lomr="{LOMR_NS}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="{CC_NS} http://www.imsglobal.org/profile/cc/ccv1p3/ccv1p3_imscp_v1p2_v1p0.xsd '
        f"{LOMM_NS} http://www.imsglobal.org/profile/cc/ccv1p3/LOM/ccv1p3_lommanifest_v1p0.xsd "
        f'{LOMR_NS} http://www.imsglobal.org/profile/cc/ccv1p3/LOM/ccv1p3_lomresource_v1p0.xsd">'
        "<metadata><schema>IMS Common Cartridge</schema><schemaversion>1.3.0</schemaversion>"
        "<lomm:lom><lomm:general><lomm:title>"
        f"<lomm:string language={quoteattr(doc.language)}>{escape(doc.title)}"
        f"</lomm:string></lomm:title>{description}<lomm:language>{escape(doc.language)}</lomm:language>"
        "</lomm:general></lomm:lom></metadata>"
        '<organizations><organization identifier="ORG" structure="rooted-hierarchy">'
        f'<item identifier="ROOT">{"".join(items)}</item></organization></organizations>'
        f"<resources>{''.join(resources)}</resources></manifest>\n"
    )
    return write_zip({"imsmanifest.xml": manifest.encode(), **files})


# --- reading ---

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
)


def _xml(data: bytes, what: str) -> etree._Element:
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as error:
        raise InvalidCartridgeError(f"{what} is not well-formed XML: {error}") from error


_local = qti._local


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    return [e for e in element if _local(e) == name]


def _child(element: etree._Element, name: str) -> etree._Element | None:
    return next(iter(_children(element, name)), None)


def _title_of(element: etree._Element) -> str:
    title = _child(element, "title")
    return re.sub(r"\s+", " ", "".join(title.itertext())).strip() if title is not None else ""


def _lom_text(metadata: etree._Element | None, name: str) -> str:
    if metadata is None:
        return ""
    for element in metadata.iter():
        if _local(element) == name and any(_local(a) == "general" for a in element.iterancestors()):
            return re.sub(r"\s+", " ", "".join(element.itertext())).strip()
    return ""


class _Cartridge:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        if "imsmanifest.xml" not in files:
            raise InvalidCartridgeError("no imsmanifest.xml at the root of the archive")
        self.manifest = _xml(files["imsmanifest.xml"], "imsmanifest.xml")
        if _local(self.manifest) != "manifest":
            raise InvalidCartridgeError("imsmanifest.xml has no <manifest> root")
        self.resources: dict[str, etree._Element] = {}
        for resources in _children(self.manifest, "resources"):
            for resource in _children(resources, "resource"):
                self.resources[resource.get("identifier", "")] = resource

    def resource_files(self, resource: etree._Element) -> list[str]:
        base = resource.get("{http://www.w3.org/XML/1998/namespace}base", "")
        return [
            posixpath.normpath(posixpath.join(base, f.get("href", ""))) for f in _children(resource, "file")
        ]

    def href(self, resource: etree._Element) -> str | None:
        if resource.get("href"):
            base = resource.get("{http://www.w3.org/XML/1998/namespace}base", "")
            return posixpath.normpath(posixpath.join(base, unquote(resource.get("href", ""))))
        files = self.resource_files(resource)
        return files[0] if files else None


def read_common_cartridge(data: bytes) -> CourseDocument:
    cartridge = _Cartridge(read_zip(data))
    metadata = _child(cartridge.manifest, "metadata")
    settings: dict = {}
    if SETTINGS_FILE in cartridge.files:
        try:
            settings = json.loads(cartridge.files[SETTINGS_FILE])
        except ValueError:
            settings = {}
        settings = settings if isinstance(settings, dict) else {}
    modules: list[Module] = []
    exercises: list[Exercise] = []
    quizzes: list[Quiz] = []
    used: set[str] = set()

    def place(item: etree._Element, lessons: list[Lesson]) -> None:
        """Read the resource an item points at into `lessons`, the exercises or the quizzes."""
        resource = cartridge.resources.get(item.get("identifierref", ""))
        if resource is None:
            return
        used.add(resource.get("identifier", ""))
        found = _read_resource(cartridge, resource, _title_of(item), settings)
        if isinstance(found, Lesson):
            lessons.append(found)
        elif isinstance(found, Exercise):
            exercises.append(found)
        elif isinstance(found, Quiz):
            quizzes.append(found)

    organizations = _child(cartridge.manifest, "organizations")
    organization = _child(organizations, "organization") if organizations is not None else None
    top: list[etree._Element] = []
    if organization is not None:
        for item in _children(organization, "item"):
            # CC wraps everything in one untitled root item; tolerate organizations without it.
            top += (
                _children(item, "item") if not item.get("identifierref") and not _title_of(item) else [item]
            )
    loose: list[Lesson] = []
    for item in top:
        if item.get("identifierref"):
            place(item, loose)
            continue
        lessons: list[Lesson] = []
        has_leaves = any(_local(d) == "item" and d.get("identifierref") for d in item.iter())
        for descendant in item.iter():
            if _local(descendant) == "item" and descendant.get("identifierref"):
                place(descendant, lessons)
        # A module keeps its place even when empty; an item that only held quizzes or exercises is no module.
        if lessons or not has_leaves:
            modules.append(Module(title=_title_of(item) or "Module", lessons=tuple(lessons)))
    if loose:
        modules.insert(0, Module(title="General", lessons=tuple(loose)))
    # Quizzes that no item points at (Canvas keeps some only in the resources) still come in.
    for identifier, resource in cartridge.resources.items():
        if (
            identifier not in used
            and "assessment" in resource.get("type", "")
            and "question-bank" not in resource.get("type", "")
        ):
            found = _read_resource(cartridge, resource, "", settings)
            if isinstance(found, Quiz):
                quizzes.append(found)

    title = (
        _lom_text(metadata, "title")
        or (organization is not None and _title_of(organization))
        or "Imported course"
    )
    return CourseDocument(
        title=title,
        description=_lom_text(metadata, "description"),
        category=str(settings.get("category", "")),
        difficulty=str(settings.get("difficulty", "BEGINNER")) or "BEGINNER",
        language=str(settings.get("language", "")) or _lom_text(metadata, "language") or "en",
        modules=tuple(modules),
        exercises=tuple(exercises),
        quizzes=tuple(quizzes),
    )


def _read_resource(cartridge: _Cartridge, resource: etree._Element, title: str, settings: dict):  # noqa: ANN202
    kind = resource.get("type", "")
    href = cartridge.href(resource)
    if "assessment" in kind and "question-bank" not in kind:
        # Canvas lists its own non-standard quiz XML too: the QTI file is the one with a questestinterop root.
        for path in [p for p in cartridge.resource_files(resource) if p.endswith(".xml")]:
            if path in cartridge.files:
                root = _xml(cartridge.files[path], path)
                if _local(root) == "questestinterop":
                    quiz = qti.read_assessment(root, title or "Quiz")
                    quizzes = settings.get("quizzes")
                    extra = (
                        quizzes.get(resource.get("identifier", "")[2:]) if isinstance(quizzes, dict) else None
                    )
                    extra = extra if isinstance(extra, dict) else {}
                    return Quiz(
                        title=title or quiz.title,
                        description=str(extra.get("description", "")),
                        passing_score=_percent(extra.get("passing_score")),
                        questions=quiz.questions,
                    )
        return None
    if kind.startswith("imswl_xml"):
        if href and href in cartridge.files:
            root = _xml(cartridge.files[href], href)
            url = next((e.get("href", "") for e in root.iter() if _local(e) == "url"), "")
            link_title = next(
                (("".join(e.itertext())).strip() for e in root.iter() if _local(e) == "title"), ""
            )
            return Lesson(
                title=title or link_title or url, body_markdown=f"[{link_title or url}]({url})" if url else ""
            )
        return None
    if kind.startswith("imsdt_xml"):
        if href and href in cartridge.files:
            root = _xml(cartridge.files[href], href)
            text = next((e for e in root.iter() if _local(e) == "text"), None)
            body = html_to_markdown("".join(text.itertext()) if text is not None else "")
            topic = next((("".join(e.itertext())).strip() for e in root.iter() if _local(e) == "title"), "")
            return Lesson(title=title or topic or "Discussion", body_markdown=body)
        return None
    if kind != "webcontent" or not href or href not in cartridge.files:
        return None
    folder = posixpath.dirname(href)
    if href.lower().endswith((".html", ".htm")):
        page = cartridge.files[href]
        source = posixpath.join(folder, "source.md")
        is_ours = b'name="generator" content="CourseGraph"' in page and source in cartridge.files
        kind_match = re.search(rb'name="coursegraph:kind" content="(\w+)"', page)
        if is_ours:
            body = cartridge.files[source].decode("utf-8", errors="replace")
        else:
            body = html_to_markdown(page.decode("utf-8", errors="replace"))
        if kind_match and kind_match.group(1) == b"exercise":
            language = re.search(rb'name="coursegraph:language" content="([^"]*)"', page)
            return Exercise(
                title=title,
                instructions_markdown=body,
                language=html_lib.unescape(language.group(1).decode()) if language else "python",
            )
        attachments = _attachments(cartridge, resource, href, page)
        return Lesson(title=title or _html_title(page), body_markdown=body, attachments=attachments)
    # A file item (a PDF, a document): a lesson that carries it.
    name = posixpath.basename(href)
    attachment = Attachment(
        name=name,
        mime_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
        data=cartridge.files[href],
    )
    return Lesson(title=title or name, body_markdown=f"[{name}]({name})", attachments=(attachment,))


def _percent(value: object) -> int:
    if isinstance(value, int | float | str):
        try:
            return min(100, max(0, int(value)))
        except ValueError:
            pass
    return 60


def _attachments(
    cartridge: _Cartridge, resource: etree._Element, href: str, page: bytes
) -> tuple[Attachment, ...]:
    """The page's images and linked files that the cartridge holds: its own files and those it references."""
    folder = posixpath.dirname(href)
    own = {href, posixpath.join(folder, "source.md")}  # the page and its Markdown source are not attachments
    wanted: list[str] = [p for p in cartridge.resource_files(resource) if p not in own]
    for src in re.findall(rb'(?:src|href)="([^"#?]+)"', page):
        ref = unquote(src.decode("utf-8", errors="replace")).replace("$IMS-CC-FILEBASE$", "web_resources")
        if re.match(r"^[a-z]+:", ref, re.IGNORECASE):
            continue
        path = posixpath.normpath(posixpath.join(folder, ref) if not ref.startswith("web_resources") else ref)
        if path in cartridge.files and path not in wanted and path != href:
            wanted.append(path)
    attachments = []
    for path in wanted:
        if path in cartridge.files:
            name = posixpath.basename(path)
            mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
            attachments.append(Attachment(name=name, mime_type=mime, data=cartridge.files[path]))
    return tuple(attachments)


def _html_title(page: bytes) -> str:
    match = re.search(rb"<title>(.*?)</title>", page, re.IGNORECASE | re.DOTALL)
    return html_lib.unescape(match.group(1).decode("utf-8", errors="replace")).strip() if match else "Lesson"


def html_to_markdown(source: str) -> str:
    """Foreign lesson HTML as Markdown: headings, paragraphs, lists, emphasis, code, links, images."""
    if not source.strip():
        return ""
    root = etree.fromstring(source.encode("utf-8"), etree.HTMLParser(no_network=True, remove_comments=True))
    if root is None:
        return ""
    body = next((e for e in root.iter() if e.tag == "body"), root)
    blocks: list[str] = []

    def inline(element: etree._Element) -> str:
        parts = [element.text or ""]
        for child in element:
            tag = child.tag if isinstance(child.tag, str) else ""
            inner = inline(child)
            if tag in ("strong", "b"):
                parts.append(f"**{inner.strip()}**")
            elif tag in ("em", "i"):
                parts.append(f"*{inner.strip()}*")
            elif tag == "code":
                parts.append(f"`{inner}`")
            elif tag == "a":
                href = child.get("href", "")
                parts.append(
                    f"[{inner.strip()}]({href if re.match(r'^[a-z]+:', href) else posixpath.basename(href)})"
                )
            elif tag == "img":
                src = unquote(child.get("src", ""))
                parts.append(f"![{child.get('alt', '')}]({posixpath.basename(src)})")
            elif tag == "br":
                parts.append("  \n")
            elif tag in ("script", "style"):
                pass
            else:
                parts.append(inner)
            parts.append(child.tail or "")
        return "".join(parts)

    def block(element: etree._Element, depth: int = 0) -> None:
        for child in element:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                blocks.append("#" * int(tag[1]) + " " + re.sub(r"\s+", " ", inline(child)).strip())
            elif tag == "p":
                text = re.sub(r"[ \t\r\n]+", " ", inline(child)).strip()
                if text:
                    blocks.append(text)
            elif tag in ("ul", "ol"):
                lines = []
                for number, li in enumerate((c for c in child if c.tag == "li"), start=1):
                    marker = f"{number}." if tag == "ol" else "-"
                    lines.append("  " * depth + f"{marker} " + re.sub(r"\s+", " ", inline(li)).strip())
                blocks.append("\n".join(lines))
            elif tag == "pre":
                blocks.append("```\n" + "".join(child.itertext()).rstrip("\n") + "\n```")
            elif tag == "hr":
                blocks.append("---")
            elif tag in ("div", "section", "article", "main", "blockquote", "table", "tbody", "tr", "td"):
                block(child, depth)
            elif tag in ("script", "style", "head", "title"):
                continue
            elif tag:
                text = re.sub(r"\s+", " ", inline(child)).strip()
                if text:
                    blocks.append(text)

    block(body)
    return "\n\n".join(blocks).strip()
