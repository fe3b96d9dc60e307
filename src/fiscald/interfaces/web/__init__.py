"""The web dashboard at ``/ui`` (docs/ui.md): static HTML, CSS and plain JavaScript shipped with the package.

The pages hold no data: everything they show or change goes through the public APIs (``/devices/...``,
``/manage/...``, ``/ws``) from the browser, with the API token (if one is set) in the ``Authorization``
header. So this module only serves files, with headers that keep the pages same-origin: a strict
Content-Security-Policy (scripts, styles and connections from this origin only, no framing by other sites).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).parent / "static"
PREFIX = "/ui"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class DashboardFiles(StaticFiles):
    """The shipped files, ``index.html`` for ``/ui/``, every answer with :data:`SECURITY_HEADERS`."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        return response


def mount(app: FastAPI) -> None:
    app.mount(PREFIX, DashboardFiles(directory=STATIC, html=True), name="ui")
