from __future__ import annotations

import io
import stat
import zipfile

import pytest

from subgraphs.content.exports import InvalidCartridgeError, UnsafeArchiveError, read_common_cartridge
from subgraphs.content.exports.archive import Limits, read_zip


def _zip(
    entries: list[tuple[str | zipfile.ZipInfo, bytes]], compression: int = zipfile.ZIP_DEFLATED
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in entries:
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name", ["../evil.html", "lessons/../../evil.html", "/etc/cron.d/evil", "C:/evil", "a\\..\\b"]
)
def test_read_common_cartridge_refuses_path_traversal(name: str) -> None:
    data = _zip([("imsmanifest.xml", b"<manifest/>"), (name, b"x")])
    with pytest.raises(UnsafeArchiveError, match="unsafe path"):
        read_common_cartridge(data)


def test_read_common_cartridge_refuses_symlinks() -> None:
    link = zipfile.ZipInfo("lessons/passwd")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with pytest.raises(UnsafeArchiveError, match="symbolic link"):
        read_common_cartridge(_zip([("imsmanifest.xml", b"<manifest/>"), (link, b"/etc/passwd")]))


def test_read_common_cartridge_refuses_a_zip_bomb() -> None:
    bomb = _zip([("imsmanifest.xml", b"<manifest/>"), ("zeros.bin", bytes(64 * 1024 * 1024))])
    assert len(bomb) < 200_000
    with pytest.raises(UnsafeArchiveError, match="zip bomb"):
        read_common_cartridge(bomb)


def test_read_zip_caps_total_size_and_entry_count() -> None:
    stored = _zip([(f"f{i}.txt", b"x" * 1000) for i in range(20)], compression=zipfile.ZIP_STORED)
    with pytest.raises(UnsafeArchiveError, match="inflates"):
        read_zip(stored, Limits(max_total_bytes=10_000))
    with pytest.raises(UnsafeArchiveError, match="20 entries"):
        read_zip(stored, Limits(max_entries=10))
    assert len(read_zip(stored)) == 20  # within the default limits it reads


def test_read_common_cartridge_refuses_what_is_not_a_cartridge() -> None:
    with pytest.raises(UnsafeArchiveError, match="not a zip"):
        read_common_cartridge(b"%PDF-1.7 not a zip")
    with pytest.raises(InvalidCartridgeError, match="no imsmanifest.xml"):
        read_common_cartridge(_zip([("index.html", b"<p>hi</p>")]))
    with pytest.raises(InvalidCartridgeError, match="not well-formed"):
        read_common_cartridge(_zip([("imsmanifest.xml", b"<manifest><unclosed></manifest>")]))
    entities = (
        b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><manifest>&x;</manifest>'
    )
    doc = read_common_cartridge(_zip([("imsmanifest.xml", entities)]))
    assert "root:" not in repr(doc)  # external entities are never resolved
