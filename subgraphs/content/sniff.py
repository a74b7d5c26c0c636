"""What a file is, from its first bytes (never its name), and whether we accept it.

`filetype` recognizes binary formats by their magic numbers (Office documents and EPUB inside ZIPs
included); text is accepted when it decodes as UTF-8 and holds no control characters. Anything that can
run — native executables, scripts with a `#!`, HTML or SVG (scripts in a browser) — is refused or, for
what a browser could execute, always downloaded as an attachment (`INLINE_SAFE`).
"""

from __future__ import annotations

import filetype

SNIFF_BYTES = 8192

# Accepted types. Office Open XML and OpenDocument arrive as their ZIP-based types.
ALLOWED: frozenset[str] = frozenset(
    {
        "application/pdf",
        "application/zip",
        "application/epub+zip",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.presentation",
        "application/vnd.oasis.opendocument.spreadsheet",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "audio/mpeg",
        "audio/ogg",
        "audio/x-wav",
        "video/mp4",
        "video/webm",
        "text/plain",
    }
)
# Shown in the browser (`Content-Disposition: inline`); everything else is an attachment.
INLINE_SAFE: frozenset[str] = frozenset(
    {"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "audio/mpeg", "video/mp4"}
)

_EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"#!")


def sniff(head: bytes) -> str:
    """The MIME type of a file from its first bytes (`application/octet-stream` when unknown)."""
    if head.startswith(_EXECUTABLE_MAGIC):
        return "application/x-executable"
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    if _looks_like_text(head):
        lowered = head[:512].lstrip().lower()
        if lowered.startswith((b"<!doctype html", b"<html", b"<svg", b"<?xml")) or b"<script" in lowered:
            return "text/html"
        return "text/plain"
    return "application/octet-stream"


def _looks_like_text(head: bytes) -> bool:
    if not head:
        return True
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The sample may end inside a multi-byte character.
        if exc.start < len(head) - 3:
            return False
        text = head[: exc.start].decode("utf-8")
    return not any(ord(c) < 32 and c not in "\t\n\r\f" for c in text)


def is_allowed(mime_type: str) -> bool:
    return mime_type in ALLOWED
