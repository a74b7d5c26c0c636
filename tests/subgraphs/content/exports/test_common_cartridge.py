"""Common Cartridge 1.3 out and in. The IMS CC 1.3 XSDs are not vendored (see SCHEMAS.md): the manifest's
structure is checked here against the profile's rules by hand."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from lxml import etree

from subgraphs.content.exports import ExportFormat, read_common_cartridge, render
from subgraphs.content.exports.document import Attachment, CourseDocument, Lesson, Module

from .conftest import PNG, unzip

# A small cartridge in the shape Canvas exports (CC 1.1 namespaces, HTML pages, Canvas QTI question types).
CANVAS = Path(__file__).parent / "canvas_cartridge"

CC = "{http://www.imsglobal.org/xsd/imsccv1p3/imscp_v1p1}"
QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"


def test_render_common_cartridge_manifest_follows_the_profile(course) -> None:  # noqa: ANN001
    files = unzip(render(ExportFormat.COMMON_CARTRIDGE, course))
    manifest = etree.fromstring(files["imsmanifest.xml"])
    assert manifest.tag == f"{CC}manifest"
    assert manifest.findtext(f"{CC}metadata/{CC}schema") == "IMS Common Cartridge"
    assert manifest.findtext(f"{CC}metadata/{CC}schemaversion") == "1.3.0"
    organization = manifest.find(f"{CC}organizations/{CC}organization")
    assert organization.get("structure") == "rooted-hierarchy"
    root_items = organization.findall(f"{CC}item")
    assert len(root_items) == 1 and root_items[0].find(f"{CC}title") is None  # one untitled root item
    modules = [item.findtext(f"{CC}title") for item in root_items[0].findall(f"{CC}item")]
    assert modules == ["Getting started", "Data structures", "Exercises", "Quizzes"]
    resources = {r.get("identifier"): r for r in manifest.iter(f"{CC}resource")}
    for item in manifest.iter(f"{CC}item"):
        if item.get("identifierref"):
            assert item.get("identifierref") in resources and item.findall(f"{CC}item") == []
    for resource in resources.values():
        hrefs = [f.get("href") for f in resource.findall(f"{CC}file")]
        assert hrefs and all(href in files for href in hrefs)
        assert len(hrefs) == len(set(hrefs))
        if resource.get("type") == "webcontent":
            assert resource.get("href") in hrefs
        else:
            assert resource.get("href") is None  # assessments and associated content have no href
    assert set(files) - {"imsmanifest.xml"} == {f.get("href") for f in manifest.iter(f"{CC}file")}

    assessment = etree.fromstring(files["quizzes/Q1/assessment.xml"])
    assert assessment.tag == f"{QTI}questestinterop"
    profiles = [
        field.findtext(f"{QTI}fieldentry")
        for field in assessment.iter(f"{QTI}qtimetadatafield")
        if field.findtext(f"{QTI}fieldlabel") == "cc_profile"
    ]
    assert profiles == [
        "cc.exam.v0p1",
        "cc.multiple_choice.v0p1",
        "cc.multiple_response.v0p1",
        "cc.true_false.v0p1",
        "cc.fib.v0p1",
        "cc.fib.v0p1",
    ]


def test_common_cartridge_round_trip_keeps_structure_and_text(course) -> None:  # noqa: ANN001
    assert read_common_cartridge(render(ExportFormat.COMMON_CARTRIDGE, course)) == course
    sparse = CourseDocument("Sparse", modules=(Module("Empty for now"), Module("Unicode “quotes” — 日本語")))
    assert read_common_cartridge(render(ExportFormat.COMMON_CARTRIDGE, sparse)) == sparse


def _zip(files: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_read_common_cartridge_from_canvas() -> None:
    files: dict[str, bytes | str] = {
        str(path.relative_to(CANVAS)): path.read_bytes() for path in CANVAS.rglob("*") if path.is_file()
    }
    data = _zip({**files, "web_resources/cell.png": PNG})
    doc = read_common_cartridge(data)
    assert doc.title == "Canvas Biology"
    assert [m.title for m in doc.modules] == [
        "Week 1: Cells",
        "Week 2: Empty",
    ]  # an empty module keeps its place
    cell, link = doc.modules[0].lessons
    assert cell.title == "The cell"
    assert "## Parts" in cell.body_markdown and "**membrane**" in cell.body_markdown
    assert "- nucleus" in cell.body_markdown and "![a cell](cell.png)" in cell.body_markdown
    assert "alert" not in cell.body_markdown
    assert cell.attachments == (Attachment("cell.png", "image/png", PNG),)
    assert link == Lesson("Further reading", "[Khan](https://www.khanacademy.org/science/biology)")
    (quiz,) = doc.quizzes
    assert quiz.title == "Cells quiz"
    single, truth, short, numeric = quiz.questions  # the essay and the matching question are left out
    assert (single.type, single.prompt, single.options, single.correct, single.points) == (
        "SINGLE_CHOICE",
        "Which organelle holds DNA?",
        ("Nucleus", "Ribosome"),
        (0,),
        3,
    )
    assert (truth.type, truth.correct) == ("TRUE_FALSE", (True,))
    assert (short.type, short.correct) == ("SHORT_ANSWER", ("mitochondria", "mitochondrion"))
    assert (numeric.type, numeric.correct) == ("NUMERIC", (46, 1))
