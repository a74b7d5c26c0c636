"""The content subgraph: files of courses and lessons at /graphql; their bytes over plain HTTP at /content.

`PUT /content/uploads/<id>` (a signed upload URL from `requestUpload`) streams the body to the storage
backend; `GET|HEAD /content/items/<id>/versions/<id>` (a signed `downloadUrl`) streams one version back
with `Range`, `ETag` and `Content-Disposition`. The router forwards `/content/*` from its origin. The
signature is the credential (browsers follow links without our token): these are the only paths open
without the router's secret in production, and they bound what they read themselves.
"""

from __future__ import annotations

import re
import urllib.parse
import uuid
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from subgraphs.content import service, signing
from subgraphs.content.loaders import build_loaders
from subgraphs.content.schema import schema
from subgraphs.content.sniff import INLINE_SAFE
from subgraphs.content.storage import blob_key
from subgraphs.core.app import client_ip, request_id_of, subgraph_app_factory
from subgraphs.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound

CONTENT = "/content/"
RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise NotFound("Not found.") from exc


def _error(exc: DomainError) -> JSONResponse:
    if isinstance(exc, Forbidden):
        status = 403
    elif isinstance(exc, NotFound):
        status = 404
    elif isinstance(exc, Conflict):
        status = 409
    elif isinstance(exc, InvalidInput):
        status = 413 if "body" in exc.field_errors else 400
    else:
        status = 400
    return JSONResponse(
        {"error": exc.extensions | {"message": exc.message}}, status, headers={"cache-control": "no-store"}
    )


def _verify(request: Request, method: str) -> str:
    """The signed URL's subject; raises Forbidden (a DomainError) for a bad or expired signature."""
    query = request.query_params
    subject = query.get("by", "")
    try:
        signing.verify(
            service.url_key_of(request.app.state.runtime),
            method,
            request.url.path,
            query.get("expires"),
            query.get("signature"),
            subject,
        )
    except signing.BadSignature as exc:
        raise Forbidden(exc.reason) from exc
    return subject


def _disposition(name: str, mime_type: str) -> str:
    """Inline only for types a browser shows without running anything; everything else is a download."""
    kind = "inline" if mime_type in INLINE_SAFE else "attachment"
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", name) or "file"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{urllib.parse.quote(name)}"


def _range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """(start, end) of a single satisfiable range, None for the whole file, "unsatisfiable" otherwise."""
    if not header:
        return None
    match = RANGE.fullmatch(header.strip())
    if not match or (not match[1] and not match[2]):
        return None  # a form we do not serve (several ranges): the whole file, as RFC 9110 allows
    if not match[1]:  # the last N bytes
        length = int(match[2])
        if length == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - length), size - 1
    start = int(match[1])
    end = min(int(match[2]), size - 1) if match[2] else size - 1
    if start >= size or end < start:
        return "unsatisfiable"
    return start, end


def add_content_routes(app: FastAPI) -> None:
    @app.put("/content/uploads/{upload_id}")
    async def upload(request: Request, upload_id: str) -> Response:
        try:
            _verify(request, "PUT")
            upload = await service.receive_upload(
                request.app.state.runtime, _uuid(upload_id), request.stream()
            )
        except DomainError as exc:
            return _error(exc)
        return JSONResponse(
            {"uploadId": str(upload.id), "size": upload.received_size, "checksum": upload.received_sha256},
            headers={"cache-control": "no-store"},
        )

    @app.api_route("/content/items/{item_id}/versions/{version_id}", methods=["GET", "HEAD"])
    async def download(request: Request, item_id: str, version_id: str) -> Response:
        runtime = request.app.state.runtime
        range_header = request.headers.get("range")
        try:
            subject = _verify(request, "GET")
            peer = request.client.host if request.client else None
            first_request = request.method == "GET" and (
                not range_header or range_header.strip().startswith("bytes=0-")
            )
            found = await service.open_download(
                runtime,
                _uuid(item_id),
                _uuid(version_id),
                by=subject or None,
                request_id=request_id_of(request.headers),
                client_ip=client_ip(
                    peer, request.headers.get("x-forwarded-for"), runtime.settings.trusted_proxies
                ),
                record=first_request and request.headers.get("if-none-match") is None,
            )
        except DomainError as exc:
            return _error(exc)
        version = found.version
        etag = f'"{version.sha256}"'
        headers = {
            "etag": etag,
            "accept-ranges": "bytes",
            "content-disposition": _disposition(found.item.name, version.mime_type),
            "cache-control": "private, max-age=0, must-revalidate",
            "x-content-type-options": "nosniff",
        }
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        size = version.size
        wanted = _range(range_header, size)
        if request.headers.get("if-range") not in (None, etag):
            wanted = None  # the client's partial copy is of other bytes: send the whole file
        if wanted == "unsatisfiable":
            return Response(status_code=416, headers={**headers, "content-range": f"bytes */{size}"})
        start, end = wanted if isinstance(wanted, tuple) else (0, size - 1)
        headers["content-length"] = str(max(0, end - start + 1))
        status = 200
        if isinstance(wanted, tuple):
            status = 206
            headers["content-range"] = f"bytes {start}-{end}/{size}"
        if request.method == "HEAD" or size == 0:
            return Response(status_code=status, headers=headers, media_type=version.mime_type)
        storage = service.storage_of(runtime)

        async def body() -> AsyncIterator[bytes]:
            async for chunk in storage.read(blob_key(version.sha256), start, end):
                yield chunk

        return StreamingResponse(body(), status_code=status, headers=headers, media_type=version.mime_type)


create_app = subgraph_app_factory(
    "content", schema, build_loaders=build_loaders, open_paths=(CONTENT,), add_routes=add_content_routes
)
app = create_app()
