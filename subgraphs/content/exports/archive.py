"""Reading untrusted zips: every entry checked before any byte is used, sizes counted as they inflate."""

from __future__ import annotations

import io
import posixpath
import stat
import zipfile
from dataclasses import dataclass

from .errors import UnsafeArchiveError

MAX_ENTRIES = 10_000
MAX_TOTAL_BYTES = 512 * 1024 * 1024  # inflated, all entries together
MAX_RATIO = 200  # an entry inflating more than this per compressed byte is a bomb, not a course
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Limits:
    max_entries: int = MAX_ENTRIES
    max_total_bytes: int = MAX_TOTAL_BYTES
    max_ratio: int = MAX_RATIO


def safe_name(name: str) -> str:
    """The entry's normalized relative path, or UnsafeArchiveError for anything that could leave the root."""
    if "\\" in name or "\x00" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"unsafe path in archive: {name!r}")
    normalized = posixpath.normpath(name)
    if normalized == ".." or normalized.startswith("../") or normalized.startswith("/"):
        raise UnsafeArchiveError(f"unsafe path in archive: {name!r}")
    return normalized


def read_zip(data: bytes, limits: Limits = Limits()) -> dict[str, bytes]:
    """All regular files of a zip as {normalized path: bytes}, or UnsafeArchiveError.

    The declared sizes in a zip can lie, so the inflated bytes are counted while reading, never trusted."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as error:
        raise UnsafeArchiveError(f"not a zip archive: {error}") from error
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_entries:
            raise UnsafeArchiveError(f"archive has {len(infos)} entries (at most {limits.max_entries})")
        declared = sum(info.file_size for info in infos)
        if declared > limits.max_total_bytes:
            raise UnsafeArchiveError(
                f"archive inflates to {declared} bytes (at most {limits.max_total_bytes})"
            )
        files: dict[str, bytes] = {}
        total = 0
        for info in infos:
            name = safe_name(info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UnsafeArchiveError(f"symbolic link in archive: {info.filename!r}")
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise UnsafeArchiveError(f"encrypted entry in archive: {info.filename!r}")
            allowed = max(info.compress_size, 1) * limits.max_ratio + _CHUNK
            parts: list[bytes] = []
            size = 0
            try:
                with archive.open(info) as stream:
                    while chunk := stream.read(_CHUNK):
                        size += len(chunk)
                        total += len(chunk)
                        if total > limits.max_total_bytes:
                            raise UnsafeArchiveError(
                                f"archive inflates past {limits.max_total_bytes} bytes (a zip bomb?)"
                            )
                        if size > allowed:
                            raise UnsafeArchiveError(
                                f"entry {info.filename!r} inflates too much (a zip bomb?)"
                            )
                        parts.append(chunk)
            except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as error:
                raise UnsafeArchiveError(f"corrupt entry {info.filename!r}: {error}") from error
            if name in files:
                raise UnsafeArchiveError(f"duplicate entry in archive: {info.filename!r}")
            files[name] = b"".join(parts)
        return files


def write_zip(files: dict[str, bytes]) -> bytes:
    """A deflated zip of {path: bytes}, entries in the given order, with fixed timestamps (same input,
    same bytes: an export that did not change adds an identical version)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()
