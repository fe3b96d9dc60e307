"""The OpenAPI document is complete and true: schemathesis drives every operation of /openapi.json in-process
(all its checks, valid and invalid data, a few examples each) and finds nothing.

Two things the schema cannot say, and how the run takes them into account:
- integers are JSON integers: ``2.0`` where an integer is expected is refused (money, quantities and codes are
  never floats), while JSON Schema counts ``2.0`` as an integer; generated whole floats are sent as integers.
- some rules tie fields together or to the store, beyond what JSON Schema states: a receipt needs an item
  line, a periodic report's range runs forwards, a CIF has a check digit, dates fit the register's clock
  (2000-2099); a device save needs a supported manufacturer and model (that the simulated-devices setting
  allows) for that connection type, an existing scan folder or linked terminal; a token comes before
  binding beyond loopback. A well-formed request may still be 400 there, so "valid data is accepted" is not
  asked of those four operations (every other check is).

What the schema can say it says from the validating models themselves (connection details per type, "dates
or Z numbers", a line's quantity not 0): the tests at the end hold schema and validation to the same answers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema_rs  # schemathesis's own validator
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from inproc import configure
from pydantic import ValidationError
from schemathesis.specs.openapi.checks import positive_data_acceptance

from fiscald.app import create_app
from fiscald.central import url as central_url
from fiscald.errors import FiscalError
from fiscald.models.config import ConnectionDetails
from fiscald.models.connection import connection
from fiscald.operations import parse_operation
from server import add_simulated_register

EXAMPLES = 15
CROSS_FIELD_RULES = {"POST /devices/operation", "POST /manage/save_fiscal_device", "POST /manage/save_pos_terminal",
                     "POST /manage/save_settings"}
LAST = "POST /manage/save_settings"  # may set an api_token: every later request would be 401


def _whole_floats_as_integers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_floats_as_integers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_floats_as_integers(v) for v in value]
    return value


def test_schemathesis_finds_nothing(tmp_path: Path) -> None:
    add_simulated_register(tmp_path)
    configure(tmp_path, allowed_hosts=["testserver"])  # the Host schemathesis's in-process client sends
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(tmp_path))
    schema.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE,
                                           schemathesis.GenerationMode.NEGATIVE])
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=lambda op: op.label == LAST)
    assert len(operations) >= 18
    failures = [finding for operation in operations if (finding := _run(operation)) is not None]
    assert not failures, "\n\n".join(failures)


def _run(operation: Any) -> str | None:
    """Schemathesis's findings on one operation, or None."""
    excluded = [positive_data_acceptance] if operation.label in CROSS_FIELD_RULES else []

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        case.body = _whole_floats_as_integers(case.body)
        case.call_and_validate(excluded_checks=excluded)

    try:
        check()
    except (Exception, BaseExceptionGroup) as exc:  # every operation's findings, not just the first
        return f"{operation.label}: {exc}"
    return None


def test_every_body_status_and_ref_is_described(tmp_path: Path) -> None:
    document = create_app(tmp_path).openapi()
    text = json.dumps(document)
    for ref in set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', text)):
        assert ref in document["components"]["schemas"], ref
    assert "$defs" not in text
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "post" and path != "/manage/check_update":
                assert "requestBody" in operation, path
            assert {"401", "403"} <= set(operation["responses"]) or path == "/", path
    assert {"200", "400", "404"} <= set(document["paths"]["/devices/{device_id}/journal"]["get"]["responses"])


DEVICE = "00000000-0000-4000-8000-000000000000"
CONNECTIONS: list[tuple[dict[str, Any], bool]] = [
    ({"type": "Usb", "details": {}}, False),  # schemathesis's finding (issue 18): the schema let it through
    ({"type": "Usb", "details": {"device_selector": "0403:6001"}}, True),
    ({"type": "Usb", "details": {"device_selector": "0403:6001", "baud_rate": 9600}}, True),
    ({"type": "Usb", "details": {"device_selector": "0403-6001"}}, False),
    ({"type": "Serial", "details": {"port": "COM3", "baud_rate": 115200}}, True),
    ({"type": "Serial", "details": {"port": "com12", "baud_rate": 9600}}, True),
    ({"type": "Serial", "details": {"port": "/dev/serial/by-id/usb-FTDI_A50285BI-if00-port0", "baud_rate": 9600}},
     True),
    ({"type": "Serial", "details": {"port": "/dev/tty USB0", "baud_rate": 9600}}, False),
    ({"type": "Serial", "details": {"port": "/dev/ttyUSB0\n", "baud_rate": 9600}}, False),
    ({"type": "Serial", "details": {"port": "COM0", "baud_rate": 9600}}, False),
    ({"type": "Serial", "details": {"port": "COM3", "baud_rate": 9601}}, False),
    ({"type": "Network", "details": {"ip_address": "192.168.1.50", "port": 9100}}, True),
    ({"type": "Network", "details": {"ip_address": "fe80::1", "port": 9100}}, True),
    ({"type": "Network", "details": {"ip_address": "fe80::1%eth0", "port": 9100}}, False),
    ({"type": "Network", "details": {"ip_address": "printer.local", "port": 9100}}, False),
    ({"type": "Virtual", "details": {}}, True),
    ({"type": "Virtual"}, True),
    ({"type": "Virtual", "details": {"port": 1}}, False),
]
PERIODIC: list[tuple[Any, bool]] = [
    ({}, False),  # schemathesis's finding (issue 18)
    (None, False),
    ({"from": "2026-01-01"}, True),
    ({"from": "2026-01-01", "to": "2026-01-31", "detailed": True}, True),
    ({"from_z": 1, "to_z": 3}, True),
    ({"to_z": 3}, True),
    ({"from": "2026-01-01", "from_z": 1}, False),
    ({"from": None, "from_z": 1}, True),
    ({"from": None, "to": None}, False),
]


def _schema_accepts(schema: dict[str, Any], document: dict[str, Any], value: Any) -> bool:
    validator = jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]},
                                                   validate_formats=True)
    return bool(validator.is_valid(value))


@pytest.mark.parametrize(("value", "accepted"), CONNECTIONS)
def test_connection_details_schema_is_the_validation(tmp_path: Path, value: dict[str, Any], accepted: bool) -> None:
    document = create_app(tmp_path).openapi()
    assert _schema_accepts({"$ref": "#/components/schemas/ConnectionDetails"}, document, value) is accepted
    try:
        connection(ConnectionDetails.model_validate(value))
    except (FiscalError, ValidationError):
        assert not accepted
    else:
        assert accepted


@pytest.mark.parametrize(("params", "accepted"), PERIODIC)
def test_periodic_report_schema_is_the_validation(tmp_path: Path, params: Any, accepted: bool) -> None:
    document = create_app(tmp_path).openapi()
    body = {"device_id": DEVICE, "operation": "periodic_report", "params": params}
    schema = document["paths"]["/devices/operation"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert _schema_accepts(schema, document, body) is accepted
    try:
        parse_operation(body)
    except FiscalError:
        assert not accepted
    else:
        assert accepted


@pytest.mark.parametrize(("url", "accepted"), [
    ("postgresql://fiscald:secret@db.example.com:5432/fiscald", True),
    ("postgres://db.example.com/fiscald", True),
    ("POSTGRES://db.example.com/fiscald", False),  # libpq reads the scheme in lower case only
    ("0", False),  # schemathesis's finding (issue 18)
    ("mysql://db.example.com/fiscald", False),
    ("https://db.example.com", False),
])
def test_central_url_schema_is_the_validation(tmp_path: Path, url: str, accepted: bool) -> None:
    document = create_app(tmp_path).openapi()
    schema = document["paths"]["/manage/save_settings"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert _schema_accepts(schema, document, {"central_url": url}) is accepted
    assert (central_url.problem(url) is None) is accepted
