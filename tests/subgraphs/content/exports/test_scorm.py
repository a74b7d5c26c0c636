from __future__ import annotations

import re

import pytest
import xmlschema

from subgraphs.content.exports import ExportError, ExportFormat, render
from subgraphs.content.exports.document import CourseDocument, Module

from .conftest import SCHEMAS, manifest_hrefs, unzip

# SCORM 1.2's own ims_xml.xsd binds the default namespace to the XML namespace, which no current parser
# accepts; the W3C schema of that namespace (shipped with SCORM 2004) stands in for it. See SCHEMAS.md.
W3C_XML = SCHEMAS / "scorm2004_4th" / "xml.xsd"


def _schema(version: str) -> xmlschema.XMLSchema:
    if version == "1.2":
        folder = SCHEMAS / "scorm12"
        return xmlschema.XMLSchema(
            str(folder / "imscp_rootv1p1p2.xsd"),
            locations=[("http://www.adlnet.org/xsd/adlcp_rootv1p2", str(folder / "adlcp_rootv1p2.xsd"))],
            uri_mapper=lambda url: W3C_XML.as_uri() if url.endswith("/ims_xml.xsd") else url,
        )
    folder = SCHEMAS / "scorm2004_4th"
    return xmlschema.XMLSchema(
        str(folder / "imscp_v1p1.xsd"),
        locations=[
            ("http://www.adlnet.org/xsd/adlcp_v1p3", str(folder / "adlcp_v1p3.xsd")),
            ("http://www.adlnet.org/xsd/adlseq_v1p3", str(folder / "adlseq_v1p3.xsd")),
            ("http://www.adlnet.org/xsd/adlnav_v1p3", str(folder / "adlnav_v1p3.xsd")),
            ("http://www.imsglobal.org/xsd/imsss", str(folder / "imsss_v1p0.xsd")),
        ],
    )


CASES = [(ExportFormat.SCORM_12, "1.2"), (ExportFormat.SCORM_2004, "2004")]


@pytest.mark.parametrize(("fmt", "version"), CASES)
def test_render_scorm_manifest_validates(course, fmt: ExportFormat, version: str) -> None:  # noqa: ANN001
    manifest = unzip(render(fmt, course))["imsmanifest.xml"].decode()
    schema = _schema(version)
    errors = [str(error) for error in schema.iter_errors(manifest)]
    assert errors == []
    # The validator is not blind: an unknown scormType value is refused.
    broken = re.sub(r'(scorm[tT]ype)="sco"', r'\1="lesson"', manifest, count=1)
    assert not schema.is_valid(broken)


@pytest.mark.parametrize(("fmt", "version"), CASES)
def test_render_scorm_is_self_contained(course, fmt: ExportFormat, version: str) -> None:  # noqa: ANN001
    files = unzip(render(fmt, course))
    manifest = files["imsmanifest.xml"]
    hrefs = [href.decode() for href in manifest_hrefs(manifest)]
    schemas = {name for name in files if name.endswith((".xsd", ".dtd"))}
    assert "imscp_rootv1p1p2.xsd" in schemas if version == "1.2" else "imsss_v1p0.xsd" in schemas
    # every file declared, every declared file there (the schemas at the root are control files, not content)
    assert set(hrefs) == set(files) - {"imsmanifest.xml"} - schemas
    launches = re.findall(rb'scorm[tT]ype="sco" href="([^"]+)"', manifest)
    assert len(launches) == 4 + 1  # a SCO per lesson and per quiz
    for name, content in files.items():
        if name.endswith(".html"):
            page = content.decode()
            assert f'data-scorm="{version}"' in page
            assert not re.search(
                r'(src|href)="(https?:)?//', page.replace('href="https://docs.python.org/3/"', "")
            )
            assert "<script>alert" not in page  # the lesson's raw HTML was escaped
    quiz = files["quizzes/Q1/index.html"].decode()
    assert quiz.count("</script>") == 2  # the runtime's tag and the quiz data's: the prompt's is escaped
    assert "function? &lt;/script&gt;&lt;!--" in quiz
    lesson = files["lessons/L1_1/index.html"].decode()
    assert '<img src="files/diagram.png"' in lesson and "lessons/L1_1/files/diagram.png" in files
    assert 'class="missing-image">remote image' in lesson  # a remote image is not loaded


@pytest.mark.parametrize("fmt", [ExportFormat.SCORM_12, ExportFormat.SCORM_2004])
def test_render_scorm_refuses_a_course_with_nothing_to_launch(fmt: ExportFormat) -> None:
    with pytest.raises(ExportError, match="at least one lesson or quiz"):
        render(fmt, CourseDocument("Empty", modules=(Module("No lessons yet"),)))
