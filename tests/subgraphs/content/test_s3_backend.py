"""The whole file path on the S3 backend (a local S3-compatible server): upload, identical bytes stored
once, download with Range — what the contract suite checks per operation, here through the routes."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import pytest

from subgraphs.content.storage import S3Storage, blob_key
from tests.fakes.s3_server import LocalS3
from tests.subgraphs.content.helpers import ITEM, local, upload


@pytest.fixture(scope="module")
def local_s3() -> Iterator[LocalS3]:
    server = LocalS3().start()
    yield server
    server.stop()


@pytest.fixture
def on_s3(content_runtime, local_s3) -> Iterator[S3Storage]:
    backend = S3Storage(local_s3.client(), local_s3.new_bucket())
    before = content_runtime.extras.get("content_storage")
    content_runtime.extras["content_storage"] = backend
    yield backend
    content_runtime.extras["content_storage"] = before


async def test_upload_and_ranged_download_on_s3(content_gql, content_http, school, on_s3):
    data = b"%PDF-1.5\n" + os.urandom(9 * 1024 * 1024)  # more than one multipart part
    result = await upload(content_gql, content_http, school.instructor.token, data, course=school.course)
    assert result["__typename"] == "ContentItemSuccess", result
    sha = hashlib.sha256(data).hexdigest()
    assert await on_s3.size(blob_key(sha)) == len(data)
    listed = on_s3.client.list_objects_v2(Bucket=on_s3.bucket).get("Contents", [])
    assert [o["Key"] for o in listed] == [blob_key(sha)]  # nothing left in staging

    again = await upload(
        content_gql, content_http, school.instructor.token, data, name="b.pdf", course=school.course
    )
    assert again["item"]["checksum"] == sha
    assert len(on_s3.client.list_objects_v2(Bucket=on_s3.bucket).get("Contents", [])) == 1  # stored once

    seen = (await content_gql(ITEM, {"id": result["item"]["id"]}, token=school.student.token))["data"]
    url = local(seen["contentItem"]["downloadUrl"])
    part = await content_http.get(url, headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == data[1000:2000]
    whole = await content_http.get(url)
    assert hashlib.sha256(whole.content).hexdigest() == sha
