"""The real app in-process over ASGI (httpx.ASGITransport), lifespan included: for API-contract tests that need
no separate process (crash, signal and folder tests keep a real server, see server.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal

from fiscald.app import create_app, open_database, prepare_demo
from fiscald.store import devices as device_repo

BASE_URL = "http://127.0.0.1:10123"


def configure(data_dir: Path, **settings: Any) -> None:
    """Store settings in a (stopped) server's data dir."""
    db = open_database(data_dir)
    try:
        def save(conn: Any) -> None:
            current = device_repo.load_settings(conn)
            device_repo.save_settings(conn, current.model_copy(update=settings))

        db.write_sync(save)
    finally:
        db.close()


@asynccontextmanager
async def asgi_client(data_dir: Path, base_url: str = BASE_URL) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to the app in this process (started and stopped with its lifespan)."""
    app = create_app(data_dir)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url=base_url) as c:
        yield c


class _PortalTransport(httpx.BaseTransport):
    """A sync httpx transport into an ASGI app running on a portal's event loop (its own thread)."""

    def __init__(self, portal: BlockingPortal, app: Any) -> None:
        self.portal = portal
        self.inner = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def call() -> httpx.Response:
            inner = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            response = await self.inner.handle_async_request(inner)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content, request=request)

        return self.portal.call(call)


class InProcessServer:
    """The real app in this process (its event loop in a thread of its own, lifespan included), on its own data
    dir, with the surface of :class:`server.Server` that HTTP-only tests use: a restart reopens the data dir
    exactly as a new process would, without the cost of one."""

    def __init__(self, data_dir: Path, demo: bool = True) -> None:
        self.data_dir = data_dir
        self.demo = demo
        self._stack: ExitStack | None = None
        self._client: httpx.Client | None = None

    def start(self) -> InProcessServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.demo:
            db = open_database(self.data_dir)
            try:
                prepare_demo(db)
            finally:
                db.close()
        app = create_app(self.data_dir)
        with ExitStack() as stack:
            portal = stack.enter_context(start_blocking_portal())
            stack.enter_context(portal.wrap_async_context_manager(app.router.lifespan_context(app)))
            self._client = stack.enter_context(httpx.Client(transport=_PortalTransport(portal, app),
                                                            base_url=BASE_URL, timeout=30))
            self._stack = stack.pop_all()
        return self

    @property
    def http(self) -> httpx.Client:
        """A client of this server (its base URL is set: pass paths)."""
        assert self._client is not None, "not started"
        return self._client

    @contextmanager
    def client(self) -> Iterator[httpx.Client]:
        yield self.http

    def stop(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            stack.close()

    def fiscal_ids(self) -> list[str]:
        body = self.http.get("/devices/fiscal").json()
        return [d["config"]["id"] for d in body["fiscal_devices"]]
