"""The lab tests' tiny IDE (stdlib only, starts in ~50 ms): what the busybox image is to the Docker tests.
Never offered to users: the platform's templates run JupyterLab, a web terminal or code-server.

    python tests/tiny_ide.py --port 8080 --workspace /path/to/workspace

GET /health answers 200 "ok"; any other GET lists the workspace's files. With `--ready-file NAME`, /health
answers 503 until the workspace holds that file (the fault tests hold a lab in STARTING with it).
"""

from __future__ import annotations

import argparse
import html
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def make_handler(workspace: Path, ready_file: str | None = None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path.split("?", 1)[0].rstrip("/").endswith("/health"):
                if ready_file and not (workspace / ready_file).exists():
                    self._send(503, "text/plain; charset=utf-8", b"not ready")
                    return
                self._send(200, "text/plain; charset=utf-8", b"ok")
                return
            files = sorted(
                str(path.relative_to(workspace)) for path in workspace.rglob("*") if path.is_file()
            )[:500]
            items = "".join(f"<li>{html.escape(name)}</li>" for name in files) or "<li>(empty)</li>"
            page = (
                "<!doctype html><title>CourseGraph test IDE</title>"
                "<h1>CourseGraph test IDE</h1>"
                f"<h2>Workspace files</h2><ul>{items}</ul>"
            )
            self._send(200, "text/html; charset=utf-8", page.encode())

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # quiet: the runtime keeps a log file
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workspace", type=Path, default=Path(os.getcwd()))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--ready-file", default=None)
    args = parser.parse_args()
    handler = make_handler(args.workspace.resolve(), args.ready_file)
    server = ThreadingHTTPServer((args.host, args.port), handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
