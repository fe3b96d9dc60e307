"""Device and settings management, shared by /manage and the ``fiscald devices|settings`` commands.

A save is validated and written in one store transaction (``*_tx`` functions): a failed save changes
nothing, and because the store has one writer, saves never interleave. :class:`Admin` then applies the
result to the running server: it serializes the saves of one device (write + restart as one step, so
the device ends up running the last configuration written) and updates the live settings in place.
The CLI uses the ``*_tx`` functions directly on the data dir when the server is stopped.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any

from pydantic import ValidationError

from fiscald.central.url import mask
from fiscald.config import Settings
from fiscald.core.manager import DeviceManager
from fiscald.core.validation import check_device, check_settings, prepare_scan_folder
from fiscald.drivers.registry import SUPPORTED, canonical_names
from fiscald.errors import Code, FiscalError
from fiscald.models.config import DeviceConfig, FiscalDeviceConfig, PosConfig, kind_of
from fiscald.models.connection import unmasked
from fiscald.operations.registry import config_error_from
from fiscald.store import devices as device_repo

RESTART_SETTINGS = ("api_port", "bind_address")
_NAMES = {"fiscal": "fiscal device", "pos": "POS terminal"}


@dataclass(frozen=True)
class Saved:
    config: DeviceConfig
    created: bool

    @property
    def message(self) -> str:
        name = _NAMES[kind_of(self.config)]
        return f"{name[0].upper()}{name[1:]} {'created' if self.created else 'updated'} successfully"


def deleted_message(kind: str) -> str:
    name = _NAMES[kind]
    return f"{name[0].upper()}{name[1:]} deleted successfully"


@dataclass(frozen=True)
class SettingsSaved:
    settings: Settings
    restart_required: tuple[str, ...]

    @property
    def message(self) -> str:
        if not self.restart_required:
            return "Settings saved successfully"
        return f"Settings saved successfully; restart fiscald to apply {', '.join(self.restart_required)}"


def supported_devices(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    """The registry grouped by kind and manufacturer; Simulated entries only when enabled."""
    out: dict[str, list[dict[str, Any]]] = {"fiscal": [], "pos": []}
    for entry in SUPPORTED:
        if entry.simulated and not settings.enable_simulated_devices:
            continue
        group = next((g for g in out[entry.kind] if g["manufacturer"] == entry.manufacturer), None)
        if group is None:
            group = {"manufacturer": entry.manufacturer, "models": [], "connection_types": []}
            out[entry.kind].append(group)
        group["models"].extend(m for m in entry.models if m not in group["models"])
        group["connection_types"].extend(t for t in entry.connection_types if t not in group["connection_types"])
        if entry.payment_codes:  # what a form offers for payment_codes: per model, the codes and their defaults
            group.setdefault("payment_codes", {}).update(
                {model: {"codes": dict(entry.payment_codes[model]),
                         "defaults": dict(entry.payment_defaults.get(model, {}))}
                 for model in entry.models if model in entry.payment_codes})
        if entry.network_password:  # a form offers connection_details.details.password on a Network connection
            group["network_password"] = True
    return out


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise FiscalError(Code.CONFIG, "body: expected a JSON object")
    return data


def parse_id(raw: Any) -> str:
    if not isinstance(raw, str):
        raise FiscalError(Code.CONFIG, "id: expected a device UUID string")
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise FiscalError(Code.CONFIG, f"id: {raw!r} is not a UUID") from None


def save_target(data: Any) -> tuple[str, bool]:
    """The id a save is for and whether it creates the device (``id`` missing or null)."""
    raw = _object(data).get("id")
    return (str(uuid.uuid4()), True) if raw is None else (parse_id(raw), False)


def delete_target(data: Any) -> str:
    body = _object(data)
    unknown = sorted(set(body) - {"id"})
    if unknown:
        raise FiscalError(Code.CONFIG, f"{unknown[0]}: unknown field")
    if body.get("id") is None:
        raise FiscalError(Code.CONFIG, "id: required")
    return parse_id(body["id"])


def _current(conn: sqlite3.Connection, kind: str, device_id: str) -> tuple[DeviceConfig | None, list[DeviceConfig]]:
    devices = device_repo.list_devices(conn)
    current = next((d for d in devices if d.id == device_id and kind_of(d) == kind), None)
    return current, [d for d in devices if d.id != device_id]


def save_device_tx(conn: sqlite3.Connection, kind: str, device_id: str, created: bool, data: Any) -> Saved:
    """Validate and store one device save (create, or update of the fields given)."""
    fields = {k: v for k, v in _object(data).items() if k != "id"}
    create_folder = fields.pop("create_scan_folder", False) if kind == "fiscal" else False
    if not isinstance(create_folder, bool):
        raise FiscalError(Code.CONFIG, "create_scan_folder: expected true or false")
    current, others = _current(conn, kind, device_id)
    if current is None and not created:
        raise FiscalError(Code.DEVICE_NOT_FOUND, f"id: no {_NAMES[kind]} {device_id}")
    stored = current.model_dump() if current is not None else None
    merged = {**(stored or {}), **unmasked(fields, stored), "id": device_id}
    if kind == "fiscal" and merged.get("scan_folder") == "":
        merged["scan_folder"] = None  # empty = INP off, as null
    model: type[FiscalDeviceConfig] | type[PosConfig] = FiscalDeviceConfig if kind == "fiscal" else PosConfig
    try:
        config = model.model_validate(merged)
    except ValidationError as exc:
        raise config_error_from(exc) from None
    maker, model_name = canonical_names(kind, config.manufacturer, config.model)
    config = config.model_copy(update={"manufacturer": maker, "model": model_name})  # stored and answered as ours
    check_device(config, others, device_repo.load_settings(conn))
    if isinstance(config, FiscalDeviceConfig) and config.scan_folder is not None and "scan_folder" in fields:
        prepare_scan_folder(config.scan_folder, create_folder)
    device_repo.save_device(conn, config)
    return Saved(config, created)


def delete_device_tx(conn: sqlite3.Connection, kind: str, device_id: str) -> DeviceConfig:
    """Archive a device (soft delete: its configuration, state and journal stay in the store)."""
    current, others = _current(conn, kind, device_id)
    if current is None:
        raise FiscalError(Code.DEVICE_NOT_FOUND, f"id: no {_NAMES[kind]} {device_id}")
    linking = [d for d in others if isinstance(d, FiscalDeviceConfig) and d.linked_pos_device_id == device_id]
    if linking:
        raise FiscalError(Code.CONFIG, f"id: the POS terminal is linked to fiscal device {linking[0].name!r} "
                                       f"({linking[0].id}); unlink it first")
    device_repo.delete_device(conn, device_id)
    return current


def settings_view(settings: Settings) -> dict[str, Any]:
    """The settings as /manage and the CLI show them: ``central_url`` with its password masked."""
    view = settings.model_dump(mode="json")
    view["central_url"] = mask(settings.central_url)
    return view


def save_settings_tx(conn: sqlite3.Connection, changes: Any, running: dict[str, Any] | None = None) -> SettingsSaved:
    """Validate and store a partial settings update; says which changes need a restart: those of
    RESTART_SETTINGS the save changed to a value the running server (``running``: key -> the value it
    uses, when known) does not already use."""
    body = _object(changes)
    current = device_repo.load_settings(conn)
    if current.central_url is not None and body.get("central_url") == mask(current.central_url):
        body = {**body, "central_url": current.central_url}  # the masked view sent back: the password stays
    try:
        new = Settings.model_validate({**current.model_dump(), **body})
    except ValidationError as exc:
        raise config_error_from(exc) from None
    check_settings(new, set(body))
    device_repo.save_settings(conn, new)
    in_use = running or {}
    restart = tuple(key for key in RESTART_SETTINGS if getattr(new, key) != getattr(current, key)
                    and getattr(new, key) != in_use.get(key))
    return SettingsSaved(new, restart)


class Admin:
    """Applies management changes to the running server."""

    def __init__(self, manager: DeviceManager) -> None:
        self.manager = manager
        self._locks: dict[str, asyncio.Lock] = {}
        self._settings_lock = asyncio.Lock()

    def _lock(self, device_id: str) -> asyncio.Lock:
        return self._locks.setdefault(device_id, asyncio.Lock())

    async def save_device(self, kind: str, data: Any) -> Saved:
        """Store the save, then (re)start the device after the operation it is running, if any."""
        device_id, created = save_target(data)
        async with self._lock(device_id):
            saved = await self.manager.db.write(partial(save_device_tx, kind=kind, device_id=device_id,
                                                        created=created, data=data))
            await self.manager.apply(saved.config)
        return saved

    async def delete_device(self, kind: str, data: Any) -> DeviceConfig:
        """Archive the device, then stop it after the operation it is running, if any."""
        device_id = delete_target(data)
        async with self._lock(device_id):
            config = await self.manager.db.write(partial(delete_device_tx, kind=kind, device_id=device_id))
            await self.manager.remove(device_id)
        return config

    async def save_settings(self, changes: Any, running: dict[str, Any] | None = None) -> SettingsSaved:
        """Store the settings, then update the live ones in place (read at use time everywhere).
        ``running``: the values of RESTART_SETTINGS this server runs with, as far as the caller knows them."""
        async with self._settings_lock:
            saved = await self.manager.db.write(partial(save_settings_tx, changes=changes, running=running))
            live = self.manager.settings
            for key in Settings.model_fields:
                if getattr(live, key) != getattr(saved.settings, key):
                    setattr(live, key, getattr(saved.settings, key))
        return saved
