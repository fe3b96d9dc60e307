"""The real app in-process over ASGI (httpx.ASGITransport), lifespan included: for API-contract tests that need
no separate process (crash, signal and folder tests keep a real server, see server.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from fiscald.app import create_app, open_database
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
