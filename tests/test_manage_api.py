"""The Headless API (/manage) against a real server process."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from inproc import InProcessServer
from polling import wait_for

from fiscald.drivers.datecs.models import MODELS as DATECS_MODELS
from fiscald.drivers.isl.brands import BRANDS as ISL_BRANDS
from fiscald.drivers.tremol.models import MODELS as TREMOL_MODELS
from server import Server

# a real brand is listed whether or not simulated devices are enabled
DATECS = {"manufacturer": "Datecs", "models": list(DATECS_MODELS), "connection_types": ["Serial", "Network"],
          "payment_codes": {name: {"codes": dict(spec.codes), "defaults": dict(spec.payments)}
                            for name, spec in DATECS_MODELS.items()}}
# the ISL brands beyond Datecs, each a row of its table's models, codes and defaults (docs/devices.md)
ISL = [{"manufacturer": brand.maker, "models": list(brand.models), "connection_types": ["Serial", "Network"],
        "payment_codes": {name: {"codes": dict(brand.codes), "defaults": dict(brand.payment_codes)}
                          for name in brand.models}} for brand in ISL_BRANDS.values()]
TREMOL = {"manufacturer": "Tremol", "models": list(TREMOL_MODELS), "connection_types": ["Serial", "Network"],
          "payment_codes": {name: {"codes": dict(spec.dialect.codes), "defaults": dict(spec.dialect.payments)}
                            for name, spec in TREMOL_MODELS.items()},
          "network_password": True}  # its Network registers may ask a LAN password (connection_details.details)
REAL = [DATECS, *ISL, TREMOL]
VIVA = {"manufacturer": "VivaWallet", "models": ["Q30", "Android", "iOS"], "connection_types": ["Network", "Cloud"]}

SIMULATED: dict[str, Any] = {"manufacturer": "Simulated", "model": "Simulated",
                             "connection_details": {"type": "Virtual", "details": {}}}
TOKEN = "s3cret-token-0123456789"


def receipt(device_id: str, price: int = 1000) -> dict[str, Any]:
    return {"device_id": device_id, "operation": "print_receipt", "params": {"lines": [
        {"type": "item", "description": "Cafea", "quantity_thousandths": 1000, "unit_price_cents": price,
         "vat": "A"}]}}


def test_device_cycle_create_list_update_operate_disable_delete(make_app: Any, tmp_path: Path) -> None:
    srv: InProcessServer = make_app(demo=False)
    inp = tmp_path / "inp" / "casa1"
    with srv.client() as c:
        assert c.get("/manage/get_supported_devices").json() == {"fiscal": REAL, "pos": [VIVA]}  # real: always
        body = {"name": "Casa 1", **SIMULATED, "notes": "bar", "vat_rates": {"A": 1900, "B": 900, "C": 0},
                "scan_folder": str(inp), "create_scan_folder": True}
        gated = c.post("/manage/save_fiscal_device", json=body)
        assert gated.status_code == 400 and gated.json()["status"] == 400
        assert "manufacturer:" in gated.json()["error"] and "enable_simulated_devices" in gated.json()["error"]
        assert not inp.exists() and c.get("/devices/fiscal").json() == {"fiscal_devices": []}

        assert c.post("/manage/save_settings", json={"enable_simulated_devices": True}).json()["success"] is True
        assert c.get("/manage/get_supported_devices").json() == {
            "fiscal": [{"manufacturer": "Simulated", "models": ["Simulated"], "connection_types": ["Virtual"]}, *REAL],
            "pos": [{"manufacturer": "Simulated", "models": ["Simulated"], "connection_types": ["Virtual"]}, VIVA]}

        created = c.post("/manage/save_fiscal_device", json=body)
        assert created.status_code == 200, created.text
        dev = created.json()["id"]
        assert created.json() == {"success": True, "message": "Fiscal device created successfully", "id": dev}
        assert str(uuid.UUID(dev)) == dev and inp.is_dir()
        # the device starts in a task of its own (the save does not wait for it): Connecting, then Connected
        wait_for(lambda: c.get("/devices/fiscal").json()["fiscal_devices"][0]["status"] != "Connecting",
                 10, "the device's start")
        [view] = c.get("/devices/fiscal").json()["fiscal_devices"]
        # the documented fields, plus "inp" because this register watches an INP folder
        assert set(view) == {"config", "status", "status_text", "vat_rates", "connected_device_id", "inp"}
        assert view["inp"]["state"] == "watching" and view["inp"]["folder"] == str(inp)
        assert view["config"] == {"id": dev, "name": "Casa 1", **SIMULATED, "notes": "bar", "enabled": True,
                                  "scan_folder": str(inp), "scan_encoding": "auto", "auto_send_card_to_pos": False,
                                  "linked_pos_device_id": None, "header_lines": [], "footer_lines": [],
                                  "operator": 1, "operator_password": None, "exempt_vat_groups": [],
                                  "payment_codes": None}
        assert (view["status"], view["status_text"]) == ("Connected", "Conectat")
        assert view["vat_rates"] == {"A": 1900, "B": 900, "C": 0}
        assert view["connected_device_id"].startswith("SIM")

        first = c.post("/devices/operation", json=receipt(dev)).json()["result"]
        assert first["receipt_number"] == 1 and first["vat_totals"]["A"]["rate_basis_points"] == 1900

        updated = c.post("/manage/save_fiscal_device", json={"id": dev, "name": "Casa 1 (bar)", "scan_folder": None})
        assert updated.json() == {"success": True, "message": "Fiscal device updated successfully", "id": dev}
        wait_for(lambda: c.get("/devices/fiscal").json()["fiscal_devices"][0]["status"] != "Connecting",
                 10, "the device's restart")
        [view] = c.get("/devices/fiscal").json()["fiscal_devices"]
        assert view["config"]["name"] == "Casa 1 (bar)" and view["config"]["notes"] == "bar"  # untouched fields kept
        assert view["config"]["scan_folder"] is None and view["status"] == "Connected"
        assert c.post("/devices/operation", json=receipt(dev)).json()["result"]["receipt_number"] == 2

        assert c.post("/manage/save_fiscal_device", json={"id": dev, "enabled": False}).status_code == 200
        [view] = c.get("/devices/fiscal").json()["fiscal_devices"]
        assert (view["status"], view["status_text"], view["config"]["enabled"]) == ("Disabled", "Dezactivat", False)
        refused = c.post("/devices/operation", json=receipt(dev))
        assert refused.status_code == 404 and refused.json()["status"] == 404

        assert c.post("/manage/save_fiscal_device", json={"id": dev, "enabled": True}).status_code == 200
        assert c.post("/devices/operation", json=receipt(dev)).json()["result"]["receipt_number"] == 3

        # the gate also guards updates of existing Simulated devices, and hides the brand
        c.post("/manage/save_settings", json={"enable_simulated_devices": False})
        assert c.get("/manage/get_supported_devices").json()["fiscal"] == REAL
        assert c.post("/manage/save_fiscal_device", json={"id": dev, "name": "x"}).status_code == 400
        c.post("/manage/save_settings", json={"enable_simulated_devices": True})

        deleted = c.post("/manage/delete_fiscal_device", json={"id": dev})
        assert deleted.json() == {"success": True, "message": "Fiscal device deleted successfully", "id": dev}
        assert c.get("/devices/fiscal").json() == {"fiscal_devices": []}
        assert c.post("/devices/operation", json=receipt(dev)).status_code == 404
        assert c.post("/manage/save_fiscal_device", json={"id": dev, "name": "again"}).status_code == 404
        assert c.post("/manage/delete_fiscal_device", json={"id": dev}).status_code == 404
    srv.stop()
    with sqlite3.connect(srv.data_dir / "fiscald.db") as db:  # archived: config, register state and journal kept
        assert db.execute("SELECT deleted_at IS NOT NULL FROM devices WHERE id = ?", (dev,)).fetchone() == (1,)
        assert db.execute("SELECT COUNT(*) FROM device_state WHERE device_id = ?", (dev,)).fetchone() == (1,)
        kinds = [k for (k,) in db.execute("SELECT kind FROM journal WHERE device_id = ? ORDER BY seq", (dev,))]
        assert kinds.count("receipt") == 3


def _snapshot(c: httpx.Client) -> Any:
    return c.get("/devices/fiscal").json(), c.get("/devices/pos").json(), c.get("/manage/get_settings").json()


def test_invalid_saves_name_the_field_and_change_nothing(make_app: Any, tmp_path: Path) -> None:
    srv: InProcessServer = make_app()
    dev = srv.fiscal_ids()[0]
    taken = tmp_path / "taken"
    taken.mkdir()
    a_file = tmp_path / "file.txt"
    a_file.write_text("x", encoding="utf-8")
    never = tmp_path / "never-created"
    unknown = str(uuid.uuid4())
    new = {"name": "Casa 2", **SIMULATED}
    serial = {"type": "Serial", "details": {"port": "/dev/ttyUSB0", "baud_rate": 115200}}
    with srv.client() as c:
        assert c.post("/manage/save_fiscal_device", json={"id": dev, "scan_folder": str(taken)}).status_code == 200
        before = _snapshot(c)
        cases: list[tuple[str, dict[str, Any], int, str]] = [
            ("/manage/save_fiscal_device", {**SIMULATED}, 400, "name"),
            ("/manage/save_fiscal_device", {**new, "nme": "typo"}, 400, "nme"),
            ("/manage/save_fiscal_device", {**new, "name": 5}, 400, "name"),
            ("/manage/save_fiscal_device", {**new, "manufacturer": "Datecs"}, 400, "model"),
            ("/manage/save_fiscal_device", {**new, "manufacturer": "Epson"}, 400, "manufacturer"),
            ("/manage/save_fiscal_device", {**new, "model": "Simulator"}, 400, "model"),
            ("/manage/save_fiscal_device", {**new, "manufacturer": "Datecs", "model": "DP-2500"}, 400, "model"),
            ("/manage/save_fiscal_device", {**new, "connection_details": {"type": "Bluetooth"}}, 400,
             "connection_details.type"),
            ("/manage/save_fiscal_device", {**new, "connection_details": {"type": "Serial", "details": {
                "port": "/dev/ttyUSB0", "baud_rate": 100000}}}, 400, "connection_details.details.baud_rate"),
            ("/manage/save_fiscal_device", {**new, "connection_details": {"type": "Serial", "details": {
                "port": "ttyUSB0", "baud_rate": 9600}}}, 400, "connection_details.details.port"),
            ("/manage/save_fiscal_device", {**new, "connection_details": {"type": "Network", "details": {
                "ip_address": "192.168.1.100", "port": 70000}}}, 400, "connection_details.details.port"),
            ("/manage/save_fiscal_device", {**new, "connection_details": {"type": "Network", "details": {
                "ip_address": "192.168.1.300", "port": 9100}}}, 400, "connection_details.details.ip_address"),
            ("/manage/save_fiscal_device", {**new, "connection_details": {"type": "Usb", "details": {
                "device_selector": "403:6001"}}}, 400, "connection_details.details.device_selector"),
            ("/manage/save_fiscal_device", {**new, "connection_details": serial}, 400, "connection_details.type"),
            ("/manage/save_fiscal_device", {**new, "connection_details": {"type": "Virtual", "details": {"x": 1}}},
             400, "connection_details.details.x"),
            ("/manage/save_fiscal_device", {**new, "linked_pos_device_id": unknown}, 400, "linked_pos_device_id"),
            ("/manage/save_fiscal_device", {**new, "auto_send_card_to_pos": True}, 400, "auto_send_card_to_pos"),
            ("/manage/save_fiscal_device", {**new, "vat_rates": {"Z": 1900}}, 400, "vat_rates"),
            ("/manage/save_fiscal_device", {**new, "scan_folder": "relative/inp"}, 400, "scan_folder"),
            ("/manage/save_fiscal_device", {**new, "scan_folder": str(taken) + "\u0000x"}, 400, "scan_folder"),
            ("/manage/save_fiscal_device", {**new, "scan_folder": str(never)}, 400, "scan_folder"),
            ("/manage/save_fiscal_device", {**new, "scan_folder": str(a_file)}, 400, "scan_folder"),
            ("/manage/save_fiscal_device", {**new, "scan_folder": str(taken)}, 400, "scan_folder"),
            ("/manage/save_fiscal_device", {**new, "scan_folder": str(taken / "BonOK"), "create_scan_folder": True},
             400, "scan_folder"),
            ("/manage/save_fiscal_device", {**new, "scan_folder": str(never), "create_scan_folder": True,
                                            "vat_rates": {"A": 10000}}, 400, "vat_rates"),
            ("/manage/save_fiscal_device", {**new, "create_scan_folder": "yes"}, 400, "create_scan_folder"),
            ("/manage/save_fiscal_device", {"id": "42", "name": "x"}, 400, "id"),
            ("/manage/save_fiscal_device", {"id": unknown, "name": "x"}, 404, "id"),
            ("/manage/save_fiscal_device", {"id": dev, "name": "Renamed", "enabled": "no"}, 400, "enabled"),
            ("/manage/save_fiscal_device", {"id": dev, "name": "Renamed", "vat_rates": {"A": -1}}, 400, "vat_rates"),
            ("/manage/save_pos_terminal", {"id": dev, "name": "not a POS"}, 404, "id"),
            ("/manage/save_pos_terminal", {"name": "Banca", "manufacturer": "Ingenico", "model": "Move/5000",
                                           "connection_details": serial}, 400, "manufacturer"),
            ("/manage/save_pos_terminal", {"name": "Banca", **SIMULATED, "scan_folder": str(taken)}, 400,
             "scan_folder"),
            ("/manage/delete_fiscal_device", {}, 400, "id"),
            ("/manage/delete_fiscal_device", {"id": dev, "force": True}, 400, "force"),
            ("/manage/delete_fiscal_device", {"id": unknown}, 404, "id"),
            ("/manage/delete_pos_terminal", {"id": dev}, 404, "id"),
            ("/manage/save_settings", {"language": "de"}, 400, "language"),
            ("/manage/save_settings", {"api_port": 0}, 400, "api_port"),
            ("/manage/save_settings", {"colour": "blue"}, 400, "colour"),
            ("/manage/save_settings", {"language": "en", "bind_address": "0.0.0.0"}, 400, "bind_address"),
            ("/manage/save_settings", {"bind_address": "my host"}, 400, "bind_address"),
            ("/manage/save_settings", {"api_token": "short"}, 400, "api_token"),
            ("/manage/save_settings", {"api_token": "has spaces in the token"}, 400, "api_token"),
        ]
        for path, body, status, field in cases:
            r = c.post(path, json=body)
            assert r.status_code == status, (path, body, r.text)
            error = r.json()
            assert error["status"] == status and error["error"].split(": ", 1)[1].startswith(field), (body, error)
            assert not never.exists()
        assert _snapshot(c) == before
        for raw, headers in ((b'{"name": ', {"Content-Type": "application/json"}),
                             (b'{"name": "x"}', {"Content-Type": "text/plain"}), (b"[]", {})):
            r = c.post("/manage/save_fiscal_device", content=raw, headers=headers)
            assert r.status_code == 400 and r.json()["status"] == 400, r.text
        assert _snapshot(c) == before


def test_concurrent_saves_over_http_keep_every_field(make_server: Any, tmp_path: Path) -> None:
    srv: Server = make_server()
    dev = srv.fiscal_ids()[0]
    folder = tmp_path / "shared-inp"

    async def main() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=srv.url, timeout=30) as c:
            return list(await asyncio.gather(
                c.post("/manage/save_fiscal_device", json={"id": dev, "name": "Renamed"}),
                c.post("/manage/save_fiscal_device", json={"id": dev, "notes": "noted"}),
                *(c.post("/manage/save_fiscal_device", json={"name": f"New {i}", **SIMULATED,
                                                              "scan_folder": str(folder), "create_scan_folder": True})
                  for i in range(4)),
            ))

    answers = asyncio.run(main())
    assert [r.status_code for r in answers[:2]] == [200, 200]
    assert sorted(r.status_code for r in answers[2:]) == [200, 400, 400, 400]  # one scan folder, one device
    views = {d["config"]["id"]: d for d in httpx.get(srv.url + "/devices/fiscal").json()["fiscal_devices"]}
    assert len(views) == 2
    assert (views[dev]["config"]["name"], views[dev]["config"]["notes"]) == ("Renamed", "noted")
    assert all(v["status"] == "Connected" for v in views.values())
    assert httpx.post(srv.url + "/devices/operation", json=receipt(dev)).json()["status"] == 200


def test_settings_live_and_persistent(make_app: Any, tmp_path: Path) -> None:
    srv: InProcessServer = make_app(tmp_path / "data")
    dev = srv.fiscal_ids()[0]
    with srv.client() as c:
        defaults = c.get("/manage/get_settings").json()
        assert defaults == {"enable_simulated_devices": True, "language": "ro", "api_port": 10123,
                            "bind_address": "127.0.0.1", "api_token": None, "idempotency_retention_days": 7,
                            "inp_settle_ms": 100, "allowed_origins": [], "allowed_hosts": [],
                            "central_url": None, "store_id": None}
        assert c.post("/devices/operation", json={"device_id": str(uuid.uuid4()), "operation": "get_status"}).json()[
            "error"].startswith("Dispozitivul sau resursa nu a fost găsită")
        saved = c.post("/manage/save_settings", json={"language": "en", "inp_settle_ms": 250}).json()
        assert saved["success"] is True and saved["restart_required"] == []
        assert saved["settings"]["language"] == "en"
        assert c.get("/devices/fiscal").json()["fiscal_devices"][0]["status_text"] == "Connected"
        err = c.post("/devices/operation", json={"device_id": str(uuid.uuid4()), "operation": "get_status"}).json()
        assert err["error"].startswith("Device or resource not found")
        assert c.post("/manage/save_settings", json={"colour": 1}).json()["error"].startswith("Invalid request")
        restart = c.post("/manage/save_settings", json={"api_port": 10200}).json()
        assert restart["restart_required"] == ["api_port"] and "restart" in restart["message"]
    srv.stop()
    srv2: InProcessServer = make_app(tmp_path / "data")
    with srv2.client() as c:
        settings = c.get("/manage/get_settings").json()
        assert (settings["language"], settings["inp_settle_ms"], settings["api_port"]) == ("en", 250, 10200)
        [view] = c.get("/devices/fiscal").json()["fiscal_devices"]
        assert view["config"]["id"] == dev and view["status_text"] == "Connected"


def _ws_handshake_status(url: str) -> int:
    async def connect() -> int:
        try:
            async with websockets.connect(url, open_timeout=5):
                return 101
        except websockets.InvalidStatus as exc:
            return int(exc.response.status_code)

    return asyncio.run(connect())


def test_api_token_guards_every_request(make_server: Any, tmp_path: Path) -> None:
    srv: Server = make_server(tmp_path / "data")
    dev = srv.fiscal_ids()[0]
    ws = srv.url.replace("http://", "ws://") + "/ws"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=srv.url) as c:
        assert c.post("/manage/save_settings", json={"api_token": TOKEN}).status_code == 200

        for method, path in (("GET", "/devices/fiscal"), ("GET", "/manage/get_settings"), ("GET", "/health"),
                             ("POST", "/devices/operation"), ("POST", "/manage/save_settings"),
                             ("GET", "/openapi.json")):
            r = c.request(method, path, json={})
            assert r.status_code == 401 and r.json()["status"] == 1011, (path, r.text)
            assert r.headers["www-authenticate"] == "Bearer"
        wrong = c.get("/devices/fiscal", headers={"Authorization": "Bearer not-the-token-at-all"})
        assert wrong.status_code == 401 and "not valid" in wrong.json()["error"]
        assert c.get(f"/devices/fiscal?token={TOKEN}").status_code == 401  # query tokens are for WebSockets only
        assert c.get("/").text == "FisCool API Server running."  # health checks stay open
        assert c.get("/devices/fiscal", headers=auth).status_code == 200
        assert c.post("/devices/operation", json=receipt(dev), headers=auth).json()["status"] == 200
        assert _ws_handshake_status(ws) == 401
        assert _ws_handshake_status(ws + "?token=wrong") == 401
        assert _ws_handshake_status(ws + f"?token={TOKEN}") != 401

        # with a token, binding beyond loopback is allowed (it takes effect at the next start)
        opened = c.post("/manage/save_settings", json={"bind_address": "0.0.0.0"}, headers=auth).json()
        assert opened["restart_required"] == ["bind_address"]
        refused = c.post("/manage/save_settings", json={"api_token": None}, headers=auth)
        assert refused.status_code == 400 and ": api_token: " in refused.json()["error"]
        c.post("/manage/save_settings", json={"bind_address": "127.0.0.1"}, headers=auth)
    srv.stop()
    srv2: Server = make_server(tmp_path / "data")
    with httpx.Client(base_url=srv2.url) as c:
        assert c.get("/devices/fiscal").status_code == 401  # the token survives a restart
        assert c.post("/manage/save_settings", json={"api_token": None}, headers=auth).status_code == 200
        assert c.get("/devices/fiscal").status_code == 200  # and clearing it opens the API again at once


@pytest.mark.parametrize(("manufacturer", "model", "canonical"), [
    ("DATECS", "FP-2000", ("Datecs", "FP-2000")),  # FisCool's docs write both of these
    ("Datecs", "DP25", ("Datecs", "DP-25")),
    ("datecs", "dp 25", ("Datecs", "DP-25")),
    ("Datecs", "fp700x", ("Datecs", "FP-700X")),
    (" Datecs ", "FP-700 X", ("Datecs", "FP-700X")),
])
def test_fiscool_spellings_are_stored_and_answered_as_ours(make_app: Any, manufacturer: str, model: str,
                                                           canonical: tuple[str, str]) -> None:
    srv: InProcessServer = make_app(demo=False)
    network = {"type": "Network", "details": {"ip_address": "127.0.0.1", "port": 1}}
    with srv.client() as c:
        saved = c.post("/manage/save_fiscal_device", json={
            "name": "Casa", "manufacturer": manufacturer, "model": model, "connection_details": network,
            "enabled": False})
        assert saved.status_code == 200, saved.text
        [view] = c.get("/devices/fiscal").json()["fiscal_devices"]
        assert (view["config"]["manufacturer"], view["config"]["model"]) == canonical
        listed = c.get("/manage/get_supported_devices").json()["fiscal"]
        assert canonical[1] in next(g["models"] for g in listed if g["manufacturer"] == canonical[0])
        # an update in another spelling keeps ours too
        again = c.post("/manage/save_fiscal_device", json={"id": saved.json()["id"], "model": model.lower()})
        assert again.status_code == 200, again.text
        [view] = c.get("/devices/fiscal").json()["fiscal_devices"]
        assert (view["config"]["manufacturer"], view["config"]["model"]) == canonical


def test_lan_password_mask_never_becomes_the_password(make_app: Any) -> None:
    """``***`` means "the stored one": where none is stored it sets none (it is not taken as the password itself),
    a null password is shown as null, and connection_details sent without it clears it."""
    srv: InProcessServer = make_app(demo=False)

    def details(port: int, **extra: Any) -> dict[str, Any]:
        return {"type": "Network", "details": {"ip_address": "127.0.0.1", "port": port, **extra}}

    def shown(device: str) -> dict[str, Any]:
        views = c.get("/devices/fiscal").json()["fiscal_devices"]
        found: dict[str, Any] = next(v["config"]["connection_details"]["details"] for v in views
                                     if v["config"]["id"] == device)
        return found

    with srv.client() as c:
        ids = []
        for port, extra in ((4901, {"password": "***"}), (4902, {"password": None}), (4903, {"password": "Lan-1"})):
            saved = c.post("/manage/save_fiscal_device", json={
                "name": f"T{port}", "manufacturer": "Tremol", "model": "M20", "enabled": False,
                "connection_details": details(port, **extra)})
            assert saved.status_code == 200, saved.text
            ids.append(saved.json()["id"])
        assert "password" not in shown(ids[0])
        assert shown(ids[1])["password"] is None
        assert shown(ids[2])["password"] == "***"
        for device, port in ((ids[0], 4901), (ids[1], 4902)):  # an edit sending the mask back sets none either
            assert c.post("/manage/save_fiscal_device", json={
                "id": device, "connection_details": details(port, password="***")}).status_code == 200
            assert shown(device).get("password") is None
        assert c.post("/manage/save_fiscal_device", json={
            "id": ids[2], "connection_details": details(4903)}).status_code == 200
        assert "password" not in shown(ids[2])


def test_pos_terminal_spellings(make_app: Any) -> None:
    srv: InProcessServer = make_app()
    with srv.client() as c:
        saved = c.post("/manage/save_pos_terminal", json={"name": "POS", "manufacturer": "SIMULATED",
                                                          "model": "simulated", "connection_details": {
                                                              "type": "Virtual", "details": {}}})
        assert saved.status_code == 200, saved.text
        [view] = c.get("/devices/pos").json()["pos_terminals"]
        assert (view["config"]["manufacturer"], view["config"]["model"]) == ("Simulated", "Simulated")


def test_version_and_check_update(client: httpx.Client) -> None:
    version = client.get("/manage/get_version").json()
    assert set(version) == {"version", "python", "platform", "instance_id"} and version["version"] == "0.1.0"
    assert version["instance_id"] == client.get("/").headers["X-Fiscald-Instance"] == client.get("/health").json()[
        "instance_id"]
    update = client.post("/manage/check_update")
    assert update.status_code == 200, update.text
    assert update.json() == {"version": "0.1.0", "update_channel": None, "update_available": None,
                             "message": update.json()["message"]}
    assert "no update channel" in update.json()["message"]


@pytest.mark.parametrize("path", ["/manage/save_fiscal_device", "/manage/get_supported_devices",
                                  "/manage/save_settings", "/manage/check_update", "/manage/delete_pos_terminal"])
def test_manage_endpoints_in_openapi(client: httpx.Client, path: str) -> None:
    assert path in client.get("/openapi.json").json()["paths"]


def test_pos_terminal_save_link_card_receipt_and_delete(make_app: Any) -> None:
    srv: InProcessServer = make_app()
    register = srv.fiscal_ids()[0]
    with srv.client() as c:
        saved = c.post("/manage/save_pos_terminal", json={
            "name": "POS 1", "manufacturer": "Simulated", "model": "Simulated", "bank": "Banca Test",
            "connection_details": {"type": "Virtual", "details": {}}}).json()
        assert saved["success"] is True
        pos = saved["id"]
        [view] = c.get("/devices/pos").json()["pos_terminals"]
        assert view["config"]["id"] == pos and view["config"]["bank"] == "Banca Test"
        assert view["status"] == "Connected" and set(view) == {"config", "status", "status_text",
                                                               "connected_device_id"}
        linked = c.post("/manage/save_fiscal_device", json={"id": register, "auto_send_card_to_pos": True,
                                                            "linked_pos_device_id": pos})
        assert linked.status_code == 200, linked.text
        r = c.post("/devices/operation", json={"device_id": register, "operation": "print_receipt", "params": {
            "lines": [{"type": "item", "description": "Carte", "quantity_thousandths": 1000,
                       "unit_price_cents": 4500, "vat": "B"}],
            "payments": [{"type": "card", "amount_cents": 4500}]}}, headers={"Idempotency-Key": "card-1"})
        assert r.status_code == 200, r.text
        [txn] = r.json()["result"]["pos_transactions"]
        assert txn["approved"] is True and txn["amount_cents"] == 4500
        status = c.post("/devices/operation", json={"device_id": pos, "operation": "pos_status"}).json()
        assert status["result"]["batch_open_count"] == 1
        in_use = c.post("/manage/delete_pos_terminal", json={"id": pos})
        assert in_use.status_code == 400 and "linked" in in_use.json()["error"]
        c.post("/manage/save_fiscal_device", json={"id": register, "auto_send_card_to_pos": False,
                                                   "linked_pos_device_id": None})
        assert c.post("/manage/delete_pos_terminal", json={"id": pos}).json()["success"] is True
        assert c.get("/devices/pos").json() == {"pos_terminals": []}
