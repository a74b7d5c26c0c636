"""The package's typed errors: the content worker turns them into the job's failure reason."""

from __future__ import annotations


class ExportError(Exception):
    """Base of every error raised by the format writers and readers."""


class UnsafeArchiveError(ExportError):
    """A zip refused before anything in it is used: path traversal, links, too many entries, too large."""


class InvalidCartridgeError(ExportError):
    """A zip that is safe but is not a Common Cartridge we can read (no manifest, malformed XML, ...)."""
