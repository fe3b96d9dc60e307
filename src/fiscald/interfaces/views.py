"""Wire views of devices, shared by the HTTP and WebSocket interfaces."""

from __future__ import annotations

from typing import Any

from fiscald.core.jobs import DeviceHandle
from fiscald.errors import Language
from fiscald.models.connection import masked


def device_view(handle: DeviceHandle, language: Language) -> dict[str, Any]:
    status = handle.status
    view: dict[str, Any] = {
        "config": masked(handle.config.model_dump(mode="json",
                                                  exclude={"vat_rates"} if handle.kind == "fiscal" else None)),
        "status": status.status.value,
        "status_text": status.text(language),
    }
    if handle.kind == "fiscal":
        view["vat_rates"] = handle.vat_rates
    view["connected_device_id"] = handle.driver.connected_device_id
    view.update(handle.extras)
    return view
