"""Repositories for settings, device configurations and per-device durable driver state."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any

from fiscald import jsonfmt
from fiscald.config import Settings
from fiscald.models.config import DeviceConfig, FiscalDeviceConfig, PosConfig


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def load_settings(conn: sqlite3.Connection) -> Settings:
    stored = {row["key"]: json.loads(row["value"]) for row in conn.execute("SELECT key, value FROM settings")}
    known = {k: v for k, v in stored.items() if k in Settings.model_fields}
    return Settings.model_validate(known)


def save_settings(conn: sqlite3.Connection, settings: Settings) -> None:
    for key, value in settings.model_dump(mode="json").items():
        conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )


def list_devices(conn: sqlite3.Connection) -> list[DeviceConfig]:
    rows = conn.execute("SELECT kind, config FROM devices WHERE deleted_at IS NULL ORDER BY created_at, id")
    out: list[DeviceConfig] = []
    for row in rows:
        model = FiscalDeviceConfig if row["kind"] == "fiscal" else PosConfig
        out.append(model.model_validate_json(row["config"]))
    return out


def save_device(conn: sqlite3.Connection, config: DeviceConfig) -> None:
    kind = "fiscal" if isinstance(config, FiscalDeviceConfig) else "pos"
    now = _now()
    conn.execute(
        """INSERT INTO devices (id, kind, config, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at,
           version = devices.version + 1, deleted_at = NULL""",
        (config.id, kind, config.model_dump_json(), now, now),
    )


def delete_device(conn: sqlite3.Connection, device_id: str) -> bool:
    """Soft delete: the configuration row stays (archived) so the device's journal keeps its owner."""
    cur = conn.execute(
        "UPDATE devices SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL", (_now(), device_id)
    )
    return cur.rowcount > 0


def load_state(conn: sqlite3.Connection, device_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT state FROM device_state WHERE device_id = ?", (device_id,)).fetchone()
    return None if row is None else dict(jsonfmt.loads(row["state"]))


def save_state(conn: sqlite3.Connection, device_id: str, state: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO device_state (device_id, state) VALUES (?, ?) "
        "ON CONFLICT (device_id) DO UPDATE SET state = excluded.state",
        (device_id, jsonfmt.dumps(state)),
    )
