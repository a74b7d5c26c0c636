"""Course exports (PDF, PPTX, SCORM 1.2, SCORM 2004, IMS Common Cartridge) and Common Cartridge import.

Pure functions over `document.CourseDocument`: no database, no network. The content worker builds the
document from the graph, calls `render`, and stores the bytes as a content item; `read_common_cartridge`
turns an uploaded cartridge back into a document. Formats are described in docs/exports.md."""

from __future__ import annotations

from .document import CourseDocument, ExportFormat
from .errors import ExportError, InvalidCartridgeError, UnsafeArchiveError

__all__ = [
    "MEDIA_TYPES",
    "ExportError",
    "ExportFormat",
    "FILE_EXTENSIONS",
    "InvalidCartridgeError",
    "UnsafeArchiveError",
    "read_common_cartridge",
    "render",
]

MEDIA_TYPES = {
    ExportFormat.PDF: "application/pdf",
    ExportFormat.PPTX: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ExportFormat.SCORM_12: "application/zip",
    ExportFormat.SCORM_2004: "application/zip",
    ExportFormat.COMMON_CARTRIDGE: "application/vnd.ims.imsccv1p3",
}
FILE_EXTENSIONS = {
    ExportFormat.PDF: ".pdf",
    ExportFormat.PPTX: ".pptx",
    ExportFormat.SCORM_12: ".zip",
    ExportFormat.SCORM_2004: ".zip",
    ExportFormat.COMMON_CARTRIDGE: ".imscc",
}


def render(fmt: ExportFormat, doc: CourseDocument) -> bytes:
    """The course in one format, as the bytes of the file to store (see MEDIA_TYPES / FILE_EXTENSIONS)."""
    fmt = ExportFormat(fmt)
    if fmt is ExportFormat.PDF:
        from .pdf import render_pdf

        return render_pdf(doc)
    if fmt is ExportFormat.PPTX:
        from .powerpoint import render_pptx

        return render_pptx(doc)
    if fmt in (ExportFormat.SCORM_12, ExportFormat.SCORM_2004):
        from .scorm import render_scorm

        return render_scorm(doc, version="1.2" if fmt is ExportFormat.SCORM_12 else "2004")
    from .common_cartridge import render_common_cartridge

    return render_common_cartridge(doc)


def read_common_cartridge(data: bytes) -> CourseDocument:
    """A Common Cartridge (ours, or one exported by Canvas, Moodle, ...) as a document; UnsafeArchiveError
    for a zip we refuse to open, InvalidCartridgeError for one that is not a cartridge we can read."""
    from .common_cartridge import read_common_cartridge as read

    return read(data)
