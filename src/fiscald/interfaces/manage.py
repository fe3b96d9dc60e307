"""The Headless API: ``/manage/*`` (docs/manage.md). Translation only; the rules live in core/admin.py."""

from __future__ import annotations

import platform
from typing import Any

from fastapi import APIRouter, Request

from fiscald import __version__
from fiscald.core.admin import Admin, deleted_message, settings_view, supported_devices
from fiscald.interfaces.http import instance_of, manager_of, read_json


def admin_of(request: Request) -> Admin:
    admin: Admin = request.app.state.admin
    return admin


def build_manage_router() -> APIRouter:
    router = APIRouter(prefix="/manage", tags=["manage"])

    @router.post("/save_fiscal_device", summary="Create (no id) or update a fiscal device")
    async def save_fiscal_device(request: Request) -> dict[str, Any]:
        saved = await admin_of(request).save_device("fiscal", await read_json(request))
        return {"success": True, "message": saved.message, "id": saved.config.id}

    @router.post("/delete_fiscal_device", summary="Delete a fiscal device (its journal stays archived)")
    async def delete_fiscal_device(request: Request) -> dict[str, Any]:
        config = await admin_of(request).delete_device("fiscal", await read_json(request))
        return {"success": True, "message": deleted_message("fiscal"), "id": config.id}

    @router.post("/save_pos_terminal", summary="Create (no id) or update a POS terminal")
    async def save_pos_terminal(request: Request) -> dict[str, Any]:
        saved = await admin_of(request).save_device("pos", await read_json(request))
        return {"success": True, "message": saved.message, "id": saved.config.id}

    @router.post("/delete_pos_terminal", summary="Delete a POS terminal")
    async def delete_pos_terminal(request: Request) -> dict[str, Any]:
        config = await admin_of(request).delete_device("pos", await read_json(request))
        return {"success": True, "message": deleted_message("pos"), "id": config.id}

    @router.get("/get_supported_devices", summary="Manufacturers, models and connection types")
    async def get_supported_devices(request: Request) -> dict[str, Any]:
        return supported_devices(manager_of(request).settings)

    @router.get("/get_settings", summary="Current settings")
    async def get_settings(request: Request) -> dict[str, Any]:
        return settings_view(manager_of(request).settings)

    @router.post("/save_settings", summary="Change some settings")
    async def save_settings(request: Request) -> dict[str, Any]:
        # the port this server listens on (a server started with --port may differ from the stored api_port)
        server = request.scope.get("server")
        running = {"api_port": server[1]} if server and server[1] is not None else None
        saved = await admin_of(request).save_settings(await read_json(request), running)
        return {"success": True, "message": saved.message, "restart_required": list(saved.restart_required),
                "settings": settings_view(saved.settings)}

    @router.get("/get_version", summary="fiscald, Python and platform versions, and this server's instance id")
    async def get_version(request: Request) -> dict[str, str]:
        return {"version": __version__, "python": platform.python_version(), "platform": platform.platform(),
                "instance_id": instance_of(request)}

    @router.post("/check_update", summary="fiscald has no update channel: says so (200)")
    async def check_update() -> dict[str, Any]:
        # [ours] FisCool answers 1006 Update when its update check fails; fiscald has no channel to check (it never
        # connects to the internet), which is not a failure of the service: a 503 made monitors and the POS's
        # retry logic treat a healthy driver as down (docs/manage.md)
        return {"version": __version__, "update_channel": None, "update_available": None,
                "message": f"fiscald {__version__} has no update channel (it never connects to the internet); "
                           "to upgrade, install a newer release the way it was installed (docs/quickstart.md)"}

    return router
