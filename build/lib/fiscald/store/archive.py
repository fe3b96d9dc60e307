"""Devices as recorded, deleted (archived) ones included: a deleted device's journal stays readable."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from fiscald.models.config import DeviceConfig, FiscalDeviceConfig, PosConfig


@dataclass(frozen=True)
class DeviceRecord:
    config: DeviceConfig
    deleted: bool

    @property
    def kind(self) -> str:
        return "fiscal" if isinstance(self.config, FiscalDeviceConfig) else "pos"


def device_record(conn: sqlite3.Connection, device_id: str) -> DeviceRecord | None:
    row = conn.execute("SELECT kind, config, deleted_at FROM devices WHERE id = ?", (device_id,)).fetchone()
    if row is None:
        return None
    model = FiscalDeviceConfig if row["kind"] == "fiscal" else PosConfig
    return DeviceRecord(model.model_validate_json(row["config"]), row["deleted_at"] is not None)
