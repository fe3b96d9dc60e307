"""``POST /manage/simulate``: fault injection on Simulated devices (see docs/simulator.md).

Only translation: JSON body -> :class:`SimulateRequest` -> ``DeviceManager.simulate`` -> JSON answer.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from fiscald.interfaces.http import manager_of, read_json
from fiscald.interfaces.views import device_view
from fiscald.models.simulate import SimulateRequest, parse_simulate


def build_router() -> APIRouter:
    router = APIRouter()

    @router.post(
        "/manage/simulate",
        summary="Inject faults into a Simulated register or POS terminal",
        openapi_extra={"requestBody": {"required": True, "content": {
            "application/json": {"schema": SimulateRequest.model_json_schema()}}}},
    )
    async def simulate(request: Request) -> dict[str, Any]:
        manager = manager_of(request)
        changes = parse_simulate(await read_json(request))
        state = await manager.simulate(changes)
        view = device_view(manager.handle(changes.device_id), manager.settings.language)
        # a body with only device_id reads the state: say so instead of claiming an update
        message = "Simulation updated" if changes.model_fields_set - {"device_id"} else "Current simulation state"
        return {"success": True, "message": message, "device_id": changes.device_id,
                "simulation": state, "status": view["status"], "status_text": view["status_text"]}

    return router
