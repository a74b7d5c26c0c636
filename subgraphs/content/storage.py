"""Where content bytes live: the `StorageBackend` protocol and its two implementations.

Keys are plain strings the service chooses (`objects/ab/cd/<sha256>`, `staging/<upload id>`). Bytes are
streamed in both directions in chunks, never held whole: `write` hashes and counts while it stores and
stops at `max_bytes`; `read` yields a byte range. `FilesystemStorage` (the embedded default) keeps files
under a root directory; `S3Storage` speaks to any S3-compatible service with boto3 (its blocking calls
run in a thread, one chunk at a time). tests/contracts/test_content_storage.py runs one suite on both.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from subgraphs.core.settings import Settings

CHUNK = 1024 * 1024
S3_PART = 8 * 1024 * 1024  # multipart part size (S3's minimum is 5 MiB, except the last part)


class TooLarge(Exception):
    """More bytes arrived than `max_bytes`; nothing was kept."""


@dataclass(frozen=True)
class Written:
    size: int
    sha256: str


class StorageBackend(Protocol):
    name: str

    async def write(self, key: str, chunks: AsyncIterator[bytes], *, max_bytes: int) -> Written:
        """Store the stream under `key` (replacing it), hashing as it goes; TooLarge past `max_bytes`."""
        ...

    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Bytes `start`..`end` inclusive (the whole object by default); FileNotFoundError if missing."""
        ...

    async def size(self, key: str) -> int | None:
        """The object's size, or None when there is none."""
        ...

    async def rename(self, source: str, target: str) -> None:
        """Move an object to another key (replacing what is there)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove an object; a missing one is no error."""
        ...


def blob_key(sha256: str) -> str:
    return f"objects/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def staging_key(upload_id: uuid.UUID, attempt: uuid.UUID | None = None) -> str:
    """Where one PUT of an upload (or one export) stages its bytes: a key per attempt, so two concurrent
    PUTs to one URL never mix their bytes (the upload row names the attempt that finished last)."""
    return f"staging/{upload_id}" + (f".{attempt.hex}" if attempt else "")


async def read_all(backend: StorageBackend, key: str, start: int = 0, end: int | None = None) -> bytes:
    """For small objects only (sniffing a file's first bytes, attachments of an export)."""
    return b"".join([chunk async for chunk in backend.read(key, start, end)])


# --- the filesystem ---------------------------------------------------------------------------------


class FilesystemStorage:
    name = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"key outside the store: {key!r}")
        return path

    async def write(self, key: str, chunks: AsyncIterator[bytes], *, max_bytes: int) -> Written:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside the target and renamed into place: a reader never sees half a file.
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        digest, size = hashlib.sha256(), 0
        buffer = bytearray()
        fh = await asyncio.to_thread(open, partial, "wb")

        def flush(data: bytes) -> None:  # in a thread: hashlib and file writes release the GIL
            digest.update(data)
            fh.write(data)

        try:
            # Request bodies arrive in small pieces: hash and write them a MiB at a time, off the loop.
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge()
                buffer += chunk
                if len(buffer) >= CHUNK:
                    await asyncio.to_thread(flush, bytes(buffer))
                    buffer.clear()
            await asyncio.to_thread(flush, bytes(buffer))
            await asyncio.to_thread(fh.close)
            await asyncio.to_thread(os.replace, partial, path)
        except BaseException:
            fh.close()
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            raise
        return Written(size=size, sha256=digest.hexdigest())

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        path = self._path(key)
        fh = await asyncio.to_thread(open, path, "rb")
        try:
            await asyncio.to_thread(fh.seek, start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                chunk = await asyncio.to_thread(
                    fh.read, CHUNK if remaining is None else min(CHUNK, remaining)
                )
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            fh.close()

    async def size(self, key: str) -> int | None:
        try:
            return (await asyncio.to_thread(self._path(key).stat)).st_size
        except FileNotFoundError:
            return None

    async def rename(self, source: str, target: str) -> None:
        target_path = self._path(target)
        target_path.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(os.replace, self._path(source), target_path)

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(self._path(key).unlink)


# --- S3-compatible object storage -------------------------------------------------------------------


class S3Storage:
    name = "s3"

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client  # a boto3 S3 client (thread-safe)
        self.bucket = bucket

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        import boto3
        from botocore.config import Config

        content = settings.content
        client = boto3.client(
            "s3",
            endpoint_url=content.s3_endpoint_url or None,
            region_name=content.s3_region,
            aws_access_key_id=content.s3_access_key_id or None,
            aws_secret_access_key=content.s3_secret_access_key or None,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}),
        )
        return cls(client, content.s3_bucket)

    async def _call(self, method: str, **kwargs: Any) -> Any:
        return await asyncio.to_thread(getattr(self.client, method), Bucket=self.bucket, **kwargs)

    async def write(self, key: str, chunks: AsyncIterator[bytes], *, max_bytes: int) -> Written:
        """One PUT for small objects; a multipart upload of 8 MiB parts otherwise (aborted on failure)."""
        digest, size = hashlib.sha256(), 0
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []

        async def send_part(data: bytes) -> None:
            nonlocal upload_id
            if upload_id is None:
                upload_id = (await self._call("create_multipart_upload", Key=key))["UploadId"]
            number = len(parts) + 1
            answer = await self._call(
                "upload_part", Key=key, UploadId=upload_id, PartNumber=number, Body=data
            )
            parts.append({"PartNumber": number, "ETag": answer["ETag"]})

        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge()
                digest.update(chunk)
                buffer += chunk
                if len(buffer) >= S3_PART:
                    await send_part(bytes(buffer))
                    buffer.clear()
            if upload_id is None:
                await self._call("put_object", Key=key, Body=bytes(buffer))
            else:
                if buffer:
                    await send_part(bytes(buffer))
                await self._call(
                    "complete_multipart_upload",
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
        except BaseException:
            if upload_id is not None:
                with contextlib.suppress(Exception):
                    await self._call("abort_multipart_upload", Key=key, UploadId=upload_id)
            raise
        return Written(size=size, sha256=digest.hexdigest())

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        from botocore.exceptions import ClientError

        byte_range = f"bytes={start}-{'' if end is None else end}"
        try:
            answer = await self._call("get_object", Key=key, Range=byte_range)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from exc
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":  # an empty object
                return
            raise
        body = answer["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK):
                yield chunk
        finally:
            body.close()

    async def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            return int((await self._call("head_object", Key=key))["ContentLength"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise

    async def rename(self, source: str, target: str) -> None:
        # A server-side copy (up to 5 GB, past the upload size cap) then the delete: no bytes through us.
        await self._call("copy_object", Key=target, CopySource={"Bucket": self.bucket, "Key": source})
        await self.delete(source)

    async def delete(self, key: str) -> None:
        await self._call("delete_object", Key=key)


def build_storage(settings: Settings) -> StorageBackend:
    if settings.content.storage == "s3":
        return S3Storage.from_settings(settings)
    if settings.content.storage != "filesystem":
        raise ValueError(
            f"COURSEGRAPH_CONTENT__STORAGE must be filesystem or s3, not {settings.content.storage}"
        )
    return FilesystemStorage(settings.data_dir / "content")
