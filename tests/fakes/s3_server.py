"""A local S3-compatible server (moto's, a real HTTP endpoint on 127.0.0.1) for the S3 storage backend:
no S3 service can be reached here, as the fake Anthropic server stands in for the paid API."""

from __future__ import annotations

import socket
import uuid
from typing import Any

import boto3
from moto.server import ThreadedMotoServer


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalS3:
    def __init__(self) -> None:
        self.port = _free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalS3:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def new_bucket(self) -> str:
        name = f"content-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name
