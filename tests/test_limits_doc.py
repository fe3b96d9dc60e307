"""The limits docs/http.md states are the ones enforced: every maximum in the operations' schemas is in its
"Request limits" table with the same number (and nothing else is), the service limits match the constants the
code uses, and the main ones are refused one past the edge."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fiscald.core.jobs import QUEUE_DEPTH
from fiscald.interfaces.http import MAX_BODY, OperationEnvelope
from fiscald.interfaces.serving import DEFAULT_MAX_CONNECTIONS, KEEP_ALIVE_S, REQUEST_READ_TIMEOUT_S, RESERVED_FILES
from fiscald.interfaces.ws.connection import MAX_IN_FLIGHT
from fiscald.interfaces.ws.endpoint import MAX_MESSAGE_BYTES
from fiscald.interfaces.ws.protocol import MAX_ACTION, MAX_ID, MAX_SUBSCRIBE_IDS, MAX_SUBSCRIBED_IDS
from fiscald.operations import OPERATIONS, parse_operation
from server import item, op

HTTP_MD = Path(__file__).parents[1] / "docs" / "http.md"
Limit = tuple[str, str, str, int]  # operation, field path, kind ("items", "characters", "at most"), number


def schema_limits() -> set[Limit]:
    """Every maxItems, maxLength and maximum in each operation's params schema, by field path."""
    found: set[Limit] = set()

    def walk(schema: dict[str, Any], operation: str, path: str, defs: dict[str, Any]) -> None:
        if "$ref" in schema:
            walk(defs[schema["$ref"].rsplit("/", 1)[1]], operation, path, defs)
            return
        for variant in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
            walk(variant, operation, path, defs)
        for key, kind in (("maxItems", "items"), ("maxLength", "characters"), ("maximum", "at most")):
            if key in schema:
                found.add((operation, path, kind, schema[key]))
        for name, prop in schema.get("properties", {}).items():
            walk(prop, operation, f"{path}.{name}" if path else name, defs)
        if "items" in schema:
            walk(schema["items"], operation, f"{path}[]", defs)

    for name, spec in OPERATIONS.items():
        schema = spec.params.model_json_schema(by_alias=True)
        walk(schema, name, "", schema.get("$defs", {}))
    return found


def documented_limits() -> set[Limit]:
    text = HTTP_MD.read_text(encoding="utf-8")
    section = text[text.index("### Request limits"):]
    section = section[:section.index("\n\n", section.index("| operation |"))]
    found: set[Limit] = set()
    for row in section.splitlines():
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        match = re.match(r"(at most )?([\d,]+)( items| characters)?", cells[2])
        assert match, row
        kind = "at most" if match.group(1) else (match.group(3) or "").strip()
        number = int(match.group(2).replace(",", ""))
        for operation in re.findall(r"`(\w+)`", cells[0]):
            for path in re.findall(r"`([^`]+)`", cells[1]):
                found.add((operation, path, kind, number))
    return found


def test_the_request_limits_table_is_the_enforced_schema() -> None:
    enforced, documented = schema_limits(), documented_limits()
    assert enforced - documented == set(), "enforced but not documented"
    assert documented - enforced == set(), "documented but not enforced"
    assert {("print_receipt", "lines", "items", 1000), ("print_receipt", "payments", "items", 20)} <= enforced


def row(label: str) -> str:
    """The docs/http.md "Limits" table row whose first cell starts with ``label``."""
    text = HTTP_MD.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith(f"| {label}")]
    assert len(rows) == 1, (label, rows)
    return rows[0]


def test_the_service_limits_are_the_constants_in_force() -> None:
    timeout_max = OperationEnvelope.model_json_schema()["properties"]["timeout_ms"]["anyOf"][0]["maximum"]
    expected = {
        "a request's headers and body": [f"{REQUEST_READ_TIMEOUT_S:g} s"],
        "open connections": [f"{DEFAULT_MAX_CONNECTIONS:,}", f"kept {RESERVED_FILES} below"],
        "idle keep-alive": [f"{KEEP_ALIVE_S} s"],
        "request body": [f"{MAX_BODY:,} bytes", f"{MAX_BODY // 1024 // 1024} MiB"],
        "`timeout_ms`": [f"1 to {timeout_max:,}"],
        "operations waiting per device": [f"| {QUEUE_DEPTH} |"],
        "WebSocket message": [f"{MAX_MESSAGE_BYTES:,} bytes"],
        "WebSocket requests in progress": [f"| {MAX_IN_FLIGHT} |"],
        "WebSocket device ids": [f"{MAX_SUBSCRIBE_IDS} in one", f"{MAX_SUBSCRIBED_IDS} subscribed"],
        "WebSocket `id` and `action`": [f"{MAX_ID} characters" if MAX_ID == MAX_ACTION else "differ"],
    }
    for label, numbers in expected.items():
        for number in numbers:
            assert number in row(label), (label, number)


def test_one_past_each_documented_edge_is_refused(make_app: Any) -> None:
    app = make_app()
    with app.client() as client:
        device = client.get("/devices/fiscal").json()["fiscal_devices"][0]["config"]["id"]
        cash = [{"type": "cash", "amount_cents": 1}]
        at_edge = op(device, "print_receipt", {"lines": [item(price=1)] * 1000, "payments": cash * 20})
        assert parse_operation(at_edge).params is not None  # 1,000 lines and 20 payments are taken
        for params, field in [({"lines": [item(price=1)] * 1001, "payments": cash}, "params.lines"),
                              ({"lines": [item(price=1)], "payments": cash * 21}, "params.payments"),
                              ({"lines": [item("x" * 73)]}, "params.lines.0.description")]:
            answer = client.post("/devices/operation", json=op(device, "print_receipt", params))
            assert answer.status_code == 400 and field in answer.json()["error"], answer.text
        status = op(device, "get_status")
        assert client.post("/devices/operation", json=status, headers={"Idempotency-Key": "k" * 255}).status_code == 200
        refused = client.post("/devices/operation", json=status, headers={"Idempotency-Key": "k" * 256})
        assert refused.status_code == 400 and "Idempotency-Key" in refused.json()["error"]
