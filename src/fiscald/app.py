"""Composition root: store, settings, device manager and the interfaces, wired into one ASGI app."""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from fiscald import __version__
from fiscald.central.shipper import DeviceRow, Shipper
from fiscald.config import DB_FILE
from fiscald.core.admin import Admin
from fiscald.core.manager import DeviceManager
from fiscald.errors import Code, FiscalError
from fiscald.interfaces import export, simulate, web
from fiscald.interfaces import openapi as openapi_doc
from fiscald.interfaces.auth import TokenAuth
from fiscald.interfaces.head import HeadAsGet
from fiscald.interfaces.http import (
    OPERATION_OPENAPI,
    OperationFastPath,
    build_router,
    operation_route,
    routing_error,
)
from fiscald.interfaces.inp.service import InpService
from fiscald.interfaces.local_only import LocalOnly
from fiscald.interfaces.manage import build_manage_router
from fiscald.interfaces.timing import ServerTimingMiddleware
from fiscald.interfaces.ws import build_ws_router
from fiscald.models.config import ConnectionDetails, FiscalDeviceConfig
from fiscald.store import Database
from fiscald.store import devices as device_repo

log = logging.getLogger("fiscald")

DEMO_DEVICE_NAME = "Simulated 1"


def open_database(data_dir: Path) -> Database:
    return Database(data_dir / DB_FILE)


def prepare_demo(db: Database) -> str | None:
    """Demo mode: simulated devices on, and one Simulated register if no fiscal device exists.

    Returns the id of the register it created, None when one already existed (a restart)."""

    def setup(conn: sqlite3.Connection) -> str | None:
        settings = device_repo.load_settings(conn)
        if not settings.enable_simulated_devices:
            settings.enable_simulated_devices = True
            device_repo.save_settings(conn, settings)
        if any(isinstance(d, FiscalDeviceConfig) for d in device_repo.list_devices(conn)):
            return None
        device = FiscalDeviceConfig(
            id=str(uuid.uuid4()), name=DEMO_DEVICE_NAME, manufacturer="Simulated", model="Simulated",
            connection_details=ConnectionDetails(type="Virtual", details={}),
            notes="Created by fiscald serve --demo",
        )
        device_repo.save_device(conn, device)
        return device.id

    return db.write_sync(setup)


def device_rows(manager: DeviceManager) -> list[DeviceRow]:
    """Every configured device with its live status, for the central database (called on the event loop)."""
    language = manager.settings.language
    return [DeviceRow(h.id, h.kind, h.config.name, h.config.manufacturer, h.config.model,
                      h.driver.connected_device_id, h.config.enabled, h.status.status.value, h.status.text(language))
            for h in manager.handles()]


def _error_response(request: Request, err: FiscalError, headers: Mapping[str, str] | None = None) -> JSONResponse:
    manager: DeviceManager | None = getattr(request.app.state, "manager", None)
    language = manager.settings.language if manager is not None else "ro"
    return JSONResponse(err.body(language), status_code=err.http_status, headers=headers)


def create_app(data_dir: Path, instance_id: str | None = None) -> FastAPI:
    """The app of the server of ``data_dir``; ``instance_id`` is the one its data dir's record names
    (fiscald.instance), answered by ``GET /``, ``/health`` and ``/manage/get_version`` so a command can tell this
    server from another on the same port (a random one when the server keeps no record, e.g. in tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = open_database(data_dir)
        settings = await db.read(device_repo.load_settings)
        manager = DeviceManager(db, settings)
        await manager.start()
        app.state.manager = manager
        app.state.admin = Admin(manager)
        inp = InpService(manager)
        await inp.start()
        shipper = Shipper(db, manager.settings, lambda: device_rows(manager))
        shipper.start()
        app.state.shipper = shipper
        try:
            yield
        finally:
            await shipper.aclose()
            await inp.stop()
            await manager.stop()
            db.close()

    # /docs and /redoc load Swagger UI and ReDoc from the installed fastapi-offline package, not from a CDN: they
    # work on a till without internet
    # no OpenTelemetry: FastAPI's native telemetry otherwise asks OpenTelemetry for its providers on every request
    # (an environment lookup each), about 2 % of a receipt's CPU for tracing nobody configured
    app = FastAPIOffline(title="fiscald", version=__version__, lifespan=lifespan,
                         description="Open fiscal device driver, wire-compatible with the FisCool HTTP API.",
                         telemetry={"tracing": False, "metrics": False, "logs": False})
    app.state.instance_id = instance_id or uuid.uuid4().hex
    app.add_middleware(OperationFastPath, on_error=_error_response)  # innermost (added first)
    app.add_middleware(ServerTimingMiddleware)
    app.router.routes.insert(0, operation_route())
    app.include_router(build_router())
    app.include_router(build_manage_router())
    app.add_middleware(TokenAuth)
    app.add_middleware(LocalOnly)  # outside TokenAuth: a foreign page is told so, not asked for a token
    app.include_router(simulate.build_router())
    app.include_router(export.build_router())
    app.include_router(build_ws_router())
    web.mount(app)
    app.add_middleware(HeadAsGet)

    @app.exception_handler(FiscalError)
    async def fiscal_error(request: Request, exc: FiscalError) -> JSONResponse:
        return _error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": ("body",), "msg": "invalid"}
        field = ".".join(str(p) for p in first["loc"])
        return _error_response(request, FiscalError(Code.CONFIG, f"{field}: {first['msg']}"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        err, headers = routing_error(request.method, request.url.path, exc)
        return _error_response(request, err, headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error_response(request, FiscalError(Code.INTERNAL, type(exc).__name__))

    generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate_openapi()
            schema["paths"]["/devices/operation"] = OPERATION_OPENAPI
            app.openapi_schema = openapi_doc.complete(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
