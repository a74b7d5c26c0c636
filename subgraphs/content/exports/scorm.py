"""SCORM 1.2 and SCORM 2004 4th edition packages: `imsmanifest.xml`, one launchable SCO per lesson and per
quiz, and a small runtime (scorm_runtime.js) that reports completion and the quiz score to the LMS."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from . import pages
from .archive import write_zip
from .document import CourseDocument
from .errors import ExportError

RUNTIME = (Path(__file__).parent / "scorm_runtime.js").read_bytes()
# The official schemas go at the package root, where the manifest's schemaLocation points (ADL's rule).
_SCHEMAS = Path(__file__).parent / "schemas"
SCHEMA_FILES = {
    "1.2": {p.name: p.read_bytes() for p in sorted((_SCHEMAS / "scorm12").iterdir())},
    "2004": {p.name: p.read_bytes() for p in sorted((_SCHEMAS / "scorm2004_4th").iterdir())},
}

SCORM_12 = {
    "xmlns": 'xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2" '
    'xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://www.imsproject.org/xsd/imscp_rootv1p1p2 imscp_rootv1p1p2.xsd '
    "http://www.imsglobal.org/xsd/imsmd_rootv1p2p1 imsmd_rootv1p2p1.xsd "
    'http://www.adlnet.org/xsd/adlcp_rootv1p2 adlcp_rootv1p2.xsd"',
    "schemaversion": "1.2",
    "scormtype": "adlcp:scormtype",
}
SCORM_2004 = {
    "xmlns": 'xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" '
    'xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3" '
    'xmlns:adlseq="http://www.adlnet.org/xsd/adlseq_v1p3" '
    'xmlns:adlnav="http://www.adlnet.org/xsd/adlnav_v1p3" '
    'xmlns:imsss="http://www.imsglobal.org/xsd/imsss" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://www.imsglobal.org/xsd/imscp_v1p1 imscp_v1p1.xsd '
    "http://www.adlnet.org/xsd/adlcp_v1p3 adlcp_v1p3.xsd "
    "http://www.adlnet.org/xsd/adlseq_v1p3 adlseq_v1p3.xsd "
    "http://www.adlnet.org/xsd/adlnav_v1p3 adlnav_v1p3.xsd "
    'http://www.imsglobal.org/xsd/imsss imsss_v1p0.xsd"',
    "schemaversion": "2004 4th Edition",
    "scormtype": "adlcp:scormType",
}


def _title(text: str) -> str:
    return f"<title>{escape(text[:200])}</title>"


def _leaf(identifier: str, title: str, extra: str = "") -> str:
    return f'<item identifier="I_{identifier}" identifierref="R_{identifier}">{_title(title)}{extra}</item>'


def render_scorm(doc: CourseDocument, *, version: str) -> bytes:
    """version: "1.2" or "2004"."""
    if not doc.quizzes and not any(module.lessons for module in doc.modules):
        # An LMS needs something to launch (and SCORM 2004 requires an item in the organization).
        raise ExportError("a SCORM package needs at least one lesson or quiz; this course has none")
    spec = SCORM_12 if version == "1.2" else SCORM_2004
    files: dict[str, bytes] = {}
    items: list[str] = []
    resources: list[str] = []
    shared = ["shared/scorm_runtime.js"]

    def sco(identifier: str, href: str, html: str, extra_files: list[str]) -> None:
        files[href] = html.encode()
        file_entries = "".join(f"<file href={quoteattr(name)}/>" for name in [href, *extra_files])
        resources.append(
            f'<resource identifier="R_{identifier}" type="webcontent" {spec["scormtype"]}="sco" '
            f"href={quoteattr(href)}>"
            f'{file_entries}<dependency identifierref="R_SHARED"/></resource>'
        )

    for m, module in enumerate(doc.modules, start=1):
        children: list[str] = []
        for n, lesson in enumerate(module.lessons, start=1):
            identifier = f"L{m}_{n}"
            folder = f"lessons/{identifier}/"
            attachment_files: list[str] = []
            for attachment in lesson.attachments:
                path = pages.attachment_path(folder, attachment)
                if path not in files:
                    files[path] = attachment.data
                    attachment_files.append(path)
            body = pages.lesson_body(lesson, lambda a: pages.attachment_path("", a))
            html = pages.page(
                lesson.title,
                body,
                scripts=("../../shared/scorm_runtime.js",),
                language=doc.language,
                scorm=version,
            )
            sco(identifier, f"{folder}index.html", html, attachment_files)
            children.append(_leaf(identifier, lesson.title))
        items.append(f'<item identifier="I_M{m}">{_title(module.title)}{"".join(children)}</item>')

    for q, quiz in enumerate(doc.quizzes, start=1):
        identifier = f"Q{q}"
        html = pages.page(
            quiz.title,
            pages.quiz_body(quiz),
            scripts=("../../shared/scorm_runtime.js",),
            language=doc.language,
            scorm=version,
        )
        sco(identifier, f"quizzes/{identifier}/index.html", html, [])
        threshold = quiz.passing_score / 100
        if version == "1.2":
            extra = f"<adlcp:masteryscore>{quiz.passing_score}</adlcp:masteryscore>"
        else:
            extra = (
                "<imsss:sequencing><imsss:objectives>"
                f'<imsss:primaryObjective objectiveID="{identifier}_passed" '
                f'satisfiedByMeasure="true"><imsss:minNormalizedMeasure>{threshold:.2f}</imsss:minNormalizedMeasure>'
                f"</imsss:primaryObjective></imsss:objectives></imsss:sequencing>"
            )
        items.append(_leaf(identifier, quiz.title, extra))

    files["shared/scorm_runtime.js"] = RUNTIME
    resources.append(
        f'<resource identifier="R_SHARED" type="webcontent" {spec["scormtype"]}="asset">'
        + "".join(f"<file href={quoteattr(name)}/>" for name in shared)
        + "</resource>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<manifest identifier="coursegraph.course" version="1" {spec["xmlns"]}>'
        "<metadata><schema>ADL SCORM</schema>"
        f"<schemaversion>{spec['schemaversion']}</schemaversion></metadata>"
        f'<organizations default="ORG"><organization identifier="ORG">{_title(doc.title)}{"".join(items)}'
        f"</organization></organizations>"
        f"<resources>{''.join(resources)}</resources></manifest>\n"
    )
    return write_zip({"imsmanifest.xml": manifest.encode(), **SCHEMA_FILES[version], **files})
