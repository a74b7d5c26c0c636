"""One contract for every StorageBackend: the filesystem and S3 (against a local S3-compatible server)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from subgraphs.content.storage import (
    S3_PART,
    FilesystemStorage,
    S3Storage,
    StorageBackend,
    TooLarge,
    blob_key,
    read_all,
)
from tests.fakes.s3_server import LocalS3


@pytest.fixture(scope="module")
def local_s3() -> Iterator[LocalS3]:
    server = LocalS3().start()
    yield server
    server.stop()


@pytest.fixture(params=["filesystem", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> StorageBackend:
    if request.param == "filesystem":
        return FilesystemStorage(tmp_path / "content")
    server: LocalS3 = request.getfixturevalue("local_s3")
    return S3Storage(server.client(), server.new_bucket())


async def chunks_of(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_write_reports_size_and_sha256_and_reads_back(backend):
    data = os.urandom(300_000)
    written = await backend.write("objects/a", chunks_of(data), max_bytes=len(data))
    assert written.size == len(data)
    assert written.sha256 == hashlib.sha256(data).hexdigest()
    assert await read_all(backend, "objects/a") == data
    assert await backend.size("objects/a") == len(data)


async def test_large_objects_go_in_parts_and_come_back_whole(backend):
    data = os.urandom(S3_PART * 2 + 12345)  # three S3 parts
    written = await backend.write("objects/big", chunks_of(data, 1024 * 1024), max_bytes=len(data))
    assert written.sha256 == hashlib.sha256(data).hexdigest()
    assert hashlib.sha256(await read_all(backend, "objects/big")).hexdigest() == written.sha256


async def test_byte_ranges(backend):
    data = bytes(range(256)) * 40
    await backend.write("objects/r", chunks_of(data, 1000), max_bytes=len(data))
    assert await read_all(backend, "objects/r", 10, 19) == data[10:20]
    assert await read_all(backend, "objects/r", 10_000) == data[10_000:]
    assert await read_all(backend, "objects/r", 0, 0) == data[:1]


async def test_empty_object(backend):
    written = await backend.write("objects/empty", chunks_of(b""), max_bytes=10)
    assert written.size == 0 and written.sha256 == hashlib.sha256(b"").hexdigest()
    assert await read_all(backend, "objects/empty") == b""


async def test_more_than_max_bytes_is_refused_and_nothing_is_kept(backend):
    with pytest.raises(TooLarge):
        await backend.write("objects/too-big", chunks_of(b"x" * 1000, 100), max_bytes=999)
    assert await backend.size("objects/too-big") is None


async def test_a_big_refused_write_leaves_nothing(backend):
    data = b"y" * (S3_PART + 10)
    with pytest.raises(TooLarge):
        await backend.write("objects/too-big-2", chunks_of(data, 1024 * 1024), max_bytes=S3_PART + 9)
    assert await backend.size("objects/too-big-2") is None


async def test_rename_moves_and_replaces(backend):
    await backend.write("staging/1", chunks_of(b"new"), max_bytes=10)
    await backend.write(blob_key("ab" * 32), chunks_of(b"old"), max_bytes=10)
    await backend.rename("staging/1", blob_key("ab" * 32))
    assert await backend.size("staging/1") is None
    assert await read_all(backend, blob_key("ab" * 32)) == b"new"


async def test_missing_objects(backend):
    assert await backend.size("objects/none") is None
    with pytest.raises(FileNotFoundError):
        await read_all(backend, "objects/none")
    await backend.delete("objects/none")  # no error


async def test_delete(backend):
    await backend.write("objects/d", chunks_of(b"bye"), max_bytes=10)
    await backend.delete("objects/d")
    assert await backend.size("objects/d") is None


def test_filesystem_keys_stay_inside_the_root(tmp_path):
    store = FilesystemStorage(tmp_path / "content")
    with pytest.raises(ValueError):
        store._path("../outside")
