"""Rules of devices/validation.py that no registered driver can reach over HTTP yet (only the Simulated
register, on a Virtual connection, is registered): shared serial ports and network addresses."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from fiscald.config import Settings
from fiscald.core.validation import check_settings, check_unshared
from fiscald.errors import FiscalError
from fiscald.models.config import ConnectionDetails, FiscalDeviceConfig, PosConfig
from fiscald.models.connection import connection


def fiscal(kind: Any, scan_folder: str | None = None, **details: Any) -> FiscalDeviceConfig:
    return FiscalDeviceConfig(id=str(uuid.uuid4()), name="R", manufacturer="M", model="X", scan_folder=scan_folder,
                              connection_details=ConnectionDetails(type=kind, details=details))


def field_of(exc: pytest.ExceptionInfo[FiscalError]) -> str:
    assert exc.value.detail is not None
    return exc.value.detail.split(":", 1)[0]


@pytest.mark.parametrize(("mine", "theirs"), [
    ({"port": "COM3", "baud_rate": 9600}, {"port": "com3", "baud_rate": 115200}),
    ({"port": "/dev/ttyUSB0", "baud_rate": 9600}, {"port": "/dev/../dev/ttyUSB0", "baud_rate": 9600}),
])
def test_two_devices_cannot_share_a_serial_port(mine: dict[str, Any], theirs: dict[str, Any]) -> None:
    other = fiscal("Serial", **theirs)
    with pytest.raises(FiscalError) as exc:
        check_unshared(fiscal("Serial", **mine), [other])
    assert field_of(exc) == "connection_details.details.port" and other.id in str(exc.value.detail)
    check_unshared(fiscal("Serial", port="COM4", baud_rate=9600), [other])


def test_network_address_and_port_are_exclusive_but_usb_ids_are_not() -> None:
    taken = fiscal("Network", ip_address="192.168.1.100", port=9100)
    pos = PosConfig(id=str(uuid.uuid4()), name="P", manufacturer="M", model="X",
                    connection_details=ConnectionDetails(type="Network", details={"ip_address": "192.168.1.100",
                                                                                  "port": 9100}))
    with pytest.raises(FiscalError):
        check_unshared(pos, [taken])
    check_unshared(fiscal("Network", ip_address="192.168.1.100", port=9101), [taken])
    usb = fiscal("Usb", device_selector="0403:6001")
    check_unshared(fiscal("Usb", device_selector="0403:6001"), [usb])  # two identical adapters are normal


def test_nested_scan_folders_are_refused(tmp_path: Path) -> None:
    other = fiscal("Virtual", scan_folder=str(tmp_path / "a"))
    for mine in (tmp_path / "a", tmp_path / "a" / "sub", tmp_path):
        with pytest.raises(FiscalError) as exc:
            check_unshared(fiscal("Virtual", scan_folder=str(mine)), [other])
        assert field_of(exc) == "scan_folder"
    check_unshared(fiscal("Virtual", scan_folder=str(tmp_path / "b")), [other])


@pytest.mark.parametrize(("kind", "details", "field"), [
    ("Serial", {"port": "COM0", "baud_rate": 9600}, "connection_details.details.port"),
    ("Serial", {"port": "/dev/tty\x00S0", "baud_rate": 9600}, "connection_details.details.port"),
    ("Serial", {"port": "COM3"}, "connection_details.details.baud_rate"),
    ("Serial", {"port": "COM3", "baud_rate": "9600"}, "connection_details.details.baud_rate"),
    ("Network", {"ip_address": "printer.local", "port": 9100}, "connection_details.details.ip_address"),
    ("Network", {"ip_address": "10.0.0.1", "port": True}, "connection_details.details.port"),
    ("Usb", {"device_selector": "0403:60g1"}, "connection_details.details.device_selector"),
    ("Usb", {"device_selector": "0403:6001", "baud_rate": 1234}, "connection_details.details.baud_rate"),
])
def test_connection_details_per_type(kind: Any, details: dict[str, Any], field: str) -> None:
    with pytest.raises(FiscalError) as exc:
        connection(ConnectionDetails(type=kind, details=details))
    assert field_of(exc) == field


def test_valid_connection_details() -> None:
    cases: tuple[tuple[Any, dict[str, Any]], ...] = (
        ("Serial", {"port": "/dev/ttyUSB0", "baud_rate": 115200}),
        ("Network", {"ip_address": "fe80::1", "port": 65535}),
        ("Usb", {"device_selector": "0403:6001"}),
        ("Virtual", {}))
    for kind, details in cases:
        connection(ConnectionDetails(type=kind, details=details))


def test_settings_loopback_rule() -> None:
    check_settings(Settings(bind_address="::1"), {"bind_address"})
    check_settings(Settings(bind_address="0.0.0.0", api_token="t" * 16), {"bind_address"})
    with pytest.raises(FiscalError) as exc:
        check_settings(Settings(bind_address="0.0.0.0"), {"api_token"})
    assert field_of(exc) == "api_token"
