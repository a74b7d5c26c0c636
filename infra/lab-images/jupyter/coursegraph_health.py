"""A Jupyter server extension answering GET /health with 200 "ok" (no login, no data): a plain tornado
handler, outside Jupyter's authentication on purpose."""

from typing import Any

from jupyter_server.utils import url_path_join
from tornado import web


class HealthHandler(web.RequestHandler):
    def get(self) -> None:
        self.finish("ok")


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "coursegraph_health"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    base = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(".*$", [(url_path_join(base, "health"), HealthHandler)])
