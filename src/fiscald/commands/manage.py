"""``fiscald devices ...`` and ``fiscald settings ...``: management from a terminal (docs/manage.md, "CLI").

A command talks to ``--url`` when given. Otherwise it talks to the data dir's own server, found through the record
that server keeps in its data dir and checked by its instance id before anything is read or written, so changes take
effect at once; it never acts on another server. When the data dir's server is not running, the command works on the
data dir itself, with the same validation, and the server picks the changes up when it starts: reading never creates
a file, and writing holds the data dir's lock so a server cannot start in the middle of it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, TypeVar

import httpx
import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fiscald import instance
from fiscald.app import open_database
from fiscald.commands.datadir import (
    HINT,
    DataDirOption,
    Live,
    ReadOnlyStore,
    ServerTrouble,
    Stopped,
    chosen,
    connect_readonly,
    data_dir_server,
    require_database,
    stored_settings,
)
from fiscald.config import DataDir, Settings
from fiscald.core.admin import (
    delete_device_tx,
    deleted_message,
    parse_id,
    save_device_tx,
    save_settings_tx,
    save_target,
    settings_view,
)
from fiscald.errors import FiscalError, Language
from fiscald.exitcodes import ExitCode
from fiscald.models.config import kind_of
from fiscald.models.connection import masked
from fiscald.store import Database
from fiscald.store import devices as device_repo

T = TypeVar("T")

devices_app = typer.Typer(help="List, add, remove, enable and disable devices.", no_args_is_help=True)
settings_app = typer.Typer(help="Show and change settings.", no_args_is_help=True)
console = Console()

UrlOption = Annotated[str | None, typer.Option("--url", help="Server URL (default: from the data dir's settings)")]
TokenOption = Annotated[str | None, typer.Option("--token", envvar="FISCALD_API_TOKEN",
                                                 help="API token (default: from the data dir's settings)")]
Access = Literal["read", "change", "create"]  # create: may create the data dir (a first device, a first setting)


class Failed(Exception):
    """A command failed; the message is for the person at the terminal."""


class Target(Protocol):
    where: str
    live: bool

    def devices(self) -> list[dict[str, Any]]: ...

    def save_device(self, kind: str, body: dict[str, Any]) -> dict[str, Any]: ...

    def delete_device(self, kind: str, device_id: str) -> dict[str, Any]: ...

    def settings(self) -> dict[str, Any]: ...

    def save_settings(self, changes: dict[str, Any]) -> dict[str, Any]: ...


class Remote:
    """The running server, through its HTTP API."""

    live = True

    def __init__(self, url: str, token: str | None, folder: DataDir | None = None) -> None:
        self.where = url if folder is None else f"{url}, the server of data dir {folder}"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # the data dir's server is on this machine: never through a proxy from the environment
        self.client = httpx.Client(base_url=url, headers=headers, timeout=120, trust_env=folder is None)

    def close(self) -> None:
        self.client.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self.client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise Failed(f"cannot reach fiscald at {self.where}: {exc}") from None
        try:
            data = response.json()
        except ValueError:
            raise Failed(f"{method} {path}: HTTP {response.status_code}: {response.text[:200]}") from None
        if response.status_code >= 400:
            error = data.get("error") if isinstance(data, dict) else None
            raise Failed(f"[{data.get('status') if isinstance(data, dict) else '?'}] {error or response.text}")
        return data

    def devices(self) -> list[dict[str, Any]]:
        fiscal = self._call("GET", "/devices/fiscal")["fiscal_devices"]
        pos = self._call("GET", "/devices/pos")["pos_terminals"]
        return [{"kind": "fiscal", **d} for d in fiscal] + [{"kind": "pos", **d} for d in pos]

    def save_device(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST", "/manage/save_fiscal_device" if kind == "fiscal" else "/manage/save_pos_terminal", body)
        return result

    def delete_device(self, kind: str, device_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST", "/manage/delete_fiscal_device" if kind == "fiscal" else "/manage/delete_pos_terminal",
            {"id": device_id})
        return result

    def settings(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/manage/get_settings")
        return result

    def save_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/manage/save_settings", changes)
        return result


class Reads(Protocol):
    def read_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...


class Local:
    """The data dir of a stopped server, with the same validation as /manage (``db`` None: read-only)."""

    live = False

    def __init__(self, store: Reads, db: Database | None, folder: DataDir, found: Stopped) -> None:
        self.store = store
        self.db = db
        self.folder = folder
        self.where = f"data dir {folder}, server not running"
        if found.stale is not None:
            self.where += f"; the record left by pid {found.stale.pid} is stale"
        self.language: Language = self._read(device_repo.load_settings).language

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return self.store.read_sync(fn)
        except sqlite3.Error as exc:
            raise Failed(f"cannot read data dir {self.folder}: {exc} (a database of an older fiscald is upgraded "
                         "when fiscald serve starts on it)") from None

    def _writer(self) -> Database:
        assert self.db is not None, "a read-only command does not write"
        return self.db

    def _failed(self, err: FiscalError) -> Failed:
        return Failed(f"[{int(err.code)}] {err.message(self.language)}")

    def devices(self) -> list[dict[str, Any]]:
        configs = self._read(device_repo.list_devices)
        return [{"kind": kind_of(c), "config": masked(c.model_dump(mode="json")), "status": None} for c in configs]

    def save_device(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            device_id, created = save_target(body)
            saved = self._writer().write_sync(partial(save_device_tx, kind=kind, device_id=device_id,
                                                      created=created, data=body))
        except FiscalError as err:
            raise self._failed(err) from None
        return {"success": True, "message": saved.message, "id": saved.config.id}

    def delete_device(self, kind: str, device_id: str) -> dict[str, Any]:
        try:
            self._writer().write_sync(partial(delete_device_tx, kind=kind, device_id=parse_id(device_id)))
        except FiscalError as err:
            raise self._failed(err) from None
        return {"success": True, "message": deleted_message(kind), "id": device_id}

    def settings(self) -> dict[str, Any]:
        return settings_view(self._read(device_repo.load_settings))

    def save_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        try:
            saved = self._writer().write_sync(partial(save_settings_tx, changes=changes))
        except FiscalError as err:
            raise self._failed(err) from None
        return {"success": True, "message": saved.message, "settings": settings_view(saved.settings)}


@contextmanager
def _remote(url: str, token: str | None, folder: DataDir | None = None) -> Iterator[Remote]:
    remote = Remote(url, token, folder)
    try:
        yield remote
    finally:
        remote.close()


@contextmanager
def _offline(folder: DataDir, found: Stopped, access: Access) -> Iterator[Local]:
    """The data dir itself: read-only for reading; for a change, opened to write while holding its lock."""
    if access == "read":
        conn = connect_readonly(folder)  # exit 2 when there is no data dir or database: nothing is created
        try:
            yield Local(ReadOnlyStore(conn), None, folder, found)
        finally:
            conn.close()
        return
    if access == "change":
        require_database(folder)
    problem = (f"cannot open data dir {folder}: {{}}. The service's data dir is writable by its user (run the "
               f"command as that user or as an administrator); or {HINT}")
    try:
        held = instance.claim(folder.path)
    except OSError as exc:
        raise Failed(problem.format(exc)) from None
    if held is None:
        raise Failed(f"a fiscald server is starting on data dir {folder}: nothing was changed; try again in a moment")
    with held:
        try:
            db = open_database(folder.path)
        except (OSError, sqlite3.Error) as exc:
            raise Failed(problem.format(exc)) from None
        try:
            yield Local(db, db, folder, found)
        finally:
            db.close()


@contextmanager
def target(data_dir: Path | None, url: str | None, token: str | None, access: Access = "read") -> Iterator[Target]:
    """``--url``; else the data dir's own server when it runs (checked by instance id); else the data dir."""
    if url is not None:
        with _remote(url.rstrip("/"), token) as remote:
            yield remote
        return
    folder = chosen(data_dir)
    try:
        found = data_dir_server(folder)
    except ServerTrouble as exc:
        raise Failed(str(exc)) from None
    if isinstance(found, Live):
        with _remote(found.record.url, token or stored_settings(folder).api_token, folder) as remote:
            yield remote
        return
    with _offline(folder, found, access) as local:
        yield local


@contextmanager
def failing_cleanly() -> Iterator[None]:
    try:
        yield
    except Failed as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(ExitCode.FAILED) from None


def _connection_text(connection: dict[str, Any]) -> str:
    details = connection.get("details", {})
    match connection.get("type"):
        case "Serial":
            return f"Serial {details.get('port')} @ {details.get('baud_rate')}"
        case "Network":
            return f"Network {details.get('ip_address')}:{details.get('port')}"
        case "Usb":
            return f"Usb {details.get('device_selector')}"
        case "Cloud":
            return f"Cloud terminal {details.get('terminal_id')} ({details.get('environment', 'demo')})"
        case other:
            return str(other)


def _find(where: Target, device_id: str) -> dict[str, Any]:
    for device in where.devices():
        if device["config"]["id"] == device_id:
            return device
    raise Failed(f"no device {device_id} in {where.where} (see fiscald devices list; {HINT})")


@devices_app.command("list")
def list_devices(data_dir: DataDirOption = None, url: UrlOption = None, token: TokenOption = None,
                 as_json: Annotated[bool, typer.Option("--json", help="One JSON document (config and status)")]
                 = False) -> None:
    """Show the configured devices (with their live status when the server runs)."""
    with failing_cleanly(), target(data_dir, url, token) as where:
        devices = where.devices()
        if as_json:
            print(json.dumps({"source": where.where, "devices": devices}, indent=2, ensure_ascii=False))
            return
        # the id never wrapped and the rest beside it: at 80 columns each id stays whole, so it can be copied
        table = Table(title=f"Devices — {where.where}", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("ID", no_wrap=True, min_width=36)
        table.add_column("Device (kind · model · connection · enabled · status)", overflow="fold")
        for device in devices:
            config = device["config"]
            status = device.get("status_text") or device.get("status") or "—"
            details = " · ".join((device["kind"], f"{config['manufacturer']} / {config['model']}",
                                  _connection_text(config["connection_details"]),
                                  "enabled" if config["enabled"] else "disabled", status))
            table.add_row(config["id"], f"[bold]{escape(config['name'])}[/bold]\n{escape(details)}")
        console.print(table)


def _connection(serial: str | None, baud_rate: int, network: str | None, usb: str | None) -> dict[str, Any]:
    chosen = [name for name, value in (("--serial", serial), ("--network", network), ("--usb", usb)) if value]
    if len(chosen) > 1:
        raise typer.BadParameter(f"{' and '.join(chosen)}: choose one connection")
    if serial:
        return {"type": "Serial", "details": {"port": serial, "baud_rate": baud_rate}}
    if network:
        host, _, port = network.rpartition(":")
        if not host or not port.isdigit():
            raise typer.BadParameter(f"{network!r} is not IP:PORT", param_hint="--network")
        return {"type": "Network", "details": {"ip_address": host.strip("[]"), "port": int(port)}}
    if usb:
        return {"type": "Usb", "details": {"device_selector": usb, "baud_rate": baud_rate}}
    return {"type": "Virtual", "details": {}}


def _vat_rates(values: list[str]) -> dict[str, int] | None:
    rates: dict[str, int] = {}
    for value in values:
        letter, _, rate = value.partition("=")
        if not rate.isdigit():
            raise typer.BadParameter(f"{value!r} is not LETTER=BASIS_POINTS (e.g. A=2100)", param_hint="--vat")
        rates[letter.strip().upper()] = int(rate)
    return rates or None


def _payment_codes(values: list[str]) -> dict[str, str] | None:
    codes: dict[str, str] = {}
    for value in values:
        kind, sep, code = value.partition("=")
        if not sep or not kind.strip() or not code.strip():
            raise typer.BadParameter(f"{value!r} is not TYPE=CODE (e.g. card=2)", param_hint="--payment-code")
        codes[kind.strip()] = code.strip()
    return codes or None


@devices_app.command("add")
def add_device(
    name: Annotated[str, typer.Argument(help="Name shown in lists")],
    manufacturer: Annotated[str, typer.Option(help="Manufacturer, any case (see get_supported_devices)")]
    = "Simulated",
    model: Annotated[str, typer.Option(help="Model, any case, dashes optional (DP25 = DP-25)")] = "Simulated",
    pos: Annotated[bool, typer.Option("--pos", help="A POS terminal instead of a fiscal device")] = False,
    serial: Annotated[str | None, typer.Option(help="Serial port (COM3, /dev/ttyUSB0)")] = None,
    baud_rate: Annotated[int, typer.Option(help="Baud rate for --serial/--usb")] = 115200,
    network: Annotated[str | None, typer.Option(help="IP:PORT of a network device")] = None,
    usb: Annotated[str | None, typer.Option(help="USB vid:pid (hex)")] = None,
    scan_folder: Annotated[Path | None, typer.Option(help="INP folder (fiscal devices)")] = None,
    create_folder: Annotated[bool, typer.Option("--create-folder", help="Create the INP folder")] = False,
    vat: Annotated[list[str] | None, typer.Option(help="VAT rate of a Simulated register, e.g. --vat A=2100")]
    = None,
    linked_pos: Annotated[str | None, typer.Option(help="Id of the POS terminal for card payments")] = None,
    auto_send_card: Annotated[bool, typer.Option("--auto-send-card", help="Send card payments to the POS")]
    = False,
    operator: Annotated[int | None, typer.Option(help="Operator code 1-99 printed on every document")] = None,
    operator_password: Annotated[str | None, typer.Option(
        help="The operator's password on a real register (1-8 digits; default: the model's factory password)")] = None,
    header_line: Annotated[list[str] | None, typer.Option(
        help="A header line printed at the top of every document (repeat for more lines, at most 8)")] = None,
    footer_line: Annotated[list[str] | None, typer.Option(
        help="A footer line printed at the end of every document (repeat for more lines, at most 4)")] = None,
    payment_code: Annotated[list[str] | None, typer.Option(
        help="Our payment type -> the register's code, e.g. --payment-code card=2 (repeatable; "
             "types left out keep the model's default, see get_supported_devices)")] = None,
    bank: Annotated[str | None, typer.Option(help="Bank of a POS terminal")] = None,
    notes: Annotated[str | None, typer.Option(help="Free notes")] = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Save it disabled")] = False,
    data_dir: DataDirOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Add a device; prints its id."""
    body: dict[str, Any] = {"name": name, "manufacturer": manufacturer, "model": model,
                            "connection_details": _connection(serial, baud_rate, network, usb), "enabled": not disabled}
    if pos:
        body["bank"] = bank
    else:
        body.update(notes=notes, scan_folder=str(scan_folder.absolute()) if scan_folder else None,
                    create_scan_folder=create_folder, vat_rates=_vat_rates(vat or []), linked_pos_device_id=linked_pos,
                    auto_send_card_to_pos=auto_send_card, header_lines=header_line or [],
                    footer_lines=footer_line or [], payment_codes=_payment_codes(payment_code or []))
        if operator is not None:
            body["operator"] = operator
        if operator_password is not None:
            body["operator_password"] = operator_password
    with failing_cleanly(), target(data_dir, url, token, "create") as where:
        answer = where.save_device("pos" if pos else "fiscal", body)
        console.print(f"[green]{answer['message']}[/green] ({where.where})")
        console.print(answer["id"], highlight=False)


@devices_app.command("remove")
def remove_device(device_id: Annotated[str, typer.Argument(help="Device id")], data_dir: DataDirOption = None,
                  url: UrlOption = None, token: TokenOption = None) -> None:
    """Delete a device (its journal stays archived)."""
    with failing_cleanly(), target(data_dir, url, token, "change") as where:
        device = _find(where, device_id)
        answer = where.delete_device(device["kind"], device_id)
        console.print(f"[green]{answer['message']}[/green] ({where.where})")


def _set_enabled(device_id: str, enabled: bool, data_dir: Path | None, url: str | None, token: str | None) -> None:
    with failing_cleanly(), target(data_dir, url, token, "change") as where:
        device = _find(where, device_id)
        answer = where.save_device(device["kind"], {"id": device_id, "enabled": enabled})
        console.print(f"[green]{answer['message']}[/green]: {'enabled' if enabled else 'disabled'} ({where.where})")


@devices_app.command("enable")
def enable_device(device_id: Annotated[str, typer.Argument(help="Device id")], data_dir: DataDirOption = None,
                  url: UrlOption = None, token: TokenOption = None) -> None:
    """Enable a device (it starts at once when the server runs)."""
    _set_enabled(device_id, True, data_dir, url, token)


@devices_app.command("disable")
def disable_device(device_id: Annotated[str, typer.Argument(help="Device id")], data_dir: DataDirOption = None,
                   url: UrlOption = None, token: TokenOption = None) -> None:
    """Disable a device (it stops after the operation in progress)."""
    _set_enabled(device_id, False, data_dir, url, token)


def _shown(key: str, value: Any) -> str:
    if key == "api_token" and isinstance(value, str):
        return "*" * (len(value) - 4) + value[-4:]
    return json.dumps(value)


@settings_app.command("show")
def show_settings(data_dir: DataDirOption = None, url: UrlOption = None, token: TokenOption = None) -> None:
    """Show every setting (the API token masked)."""
    with failing_cleanly(), target(data_dir, url, token) as where:
        table = Table(title=f"Settings — {where.where}")
        table.add_column("Key")
        table.add_column("Value", overflow="fold")
        for key, value in where.settings().items():
            table.add_row(key, _shown(key, value))
        console.print(table)


def parse_setting(key: str, text: str) -> Any:
    """VALUE as the setting's type: true/false, an integer, a comma list, a string (null clears api_token)."""
    field = Settings.model_fields.get(key)
    if field is None:
        raise typer.BadParameter(f"unknown setting {key!r} (known: {', '.join(Settings.model_fields)})",
                                 param_hint="KEY")
    default = field.get_default(call_default_factory=True)
    if isinstance(default, bool):
        if text.lower() not in ("true", "false", "yes", "no", "on", "off", "1", "0"):
            raise typer.BadParameter(f"{key} takes true or false", param_hint="VALUE")
        return text.lower() in ("true", "yes", "on", "1")
    if isinstance(default, int):
        try:
            return int(text)
        except ValueError:
            raise typer.BadParameter(f"{key} takes an integer", param_hint="VALUE") from None
    if isinstance(default, list):
        return [part.strip() for part in text.split(",") if part.strip()]
    if default is None and text.lower() in ("", "null", "none"):
        return None
    return text


@settings_app.command("set")
def set_setting(key: Annotated[str, typer.Argument(help="Setting name (see settings show)")],
                value: Annotated[str, typer.Argument(help="New value")], data_dir: DataDirOption = None,
                url: UrlOption = None, token: TokenOption = None) -> None:
    """Change one setting (live when the server runs; api_port and bind_address need a restart)."""
    parsed = parse_setting(key, value)
    with failing_cleanly(), target(data_dir, url, token, "create") as where:
        answer = where.save_settings({key: parsed})
        console.print(f"[green]{answer['message']}[/green] ({where.where})")
