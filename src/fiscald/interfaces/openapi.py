"""The OpenAPI document made complete: every request body (the /manage endpoints read their JSON themselves,
so FastAPI cannot see it), every status each endpoint can answer with the one error shape, and every ``$ref``
resolvable (pydantic's ``$defs`` moved into ``components``)."""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from fiscald.config import Settings
from fiscald.errors import ERRORS
from fiscald.models.config import FiscalDeviceConfig, PosConfig
from fiscald.models.connection import DETAILS
from fiscald.models.simulate import SimulateRequest
from fiscald.operations import OPERATIONS

REF = "#/components/schemas/{model}"
ERROR_REF = {"$ref": REF.format(model="Error")}
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["status", "error"],
    "properties": {"status": {"type": "integer", "description": "application code (docs/errors.md)"},
                   "error": {"type": "string"}, "details": {"type": "object"}, "retryable": {"type": "boolean"}},
}
# besides its own statuses every request may be answered 403 (foreign Host/Origin) and, but for the open
# liveness path, 401 (API token missing or wrong)
OPEN = frozenset({("get", "/")})
EVERY_ERROR = sorted({spec.http_status for spec in ERRORS.values()})

STATUSES: dict[tuple[str, str], list[int]] = {
    ("post", "/devices/operation"): EVERY_ERROR,
    ("get", "/devices/{device_id}/journal"): [400, 404],
    ("get", "/devices/{device_id}/reports"): [400, 404, 422],
    ("post", "/manage/save_fiscal_device"): [400, 404],
    ("post", "/manage/save_pos_terminal"): [400, 404],
    ("post", "/manage/delete_fiscal_device"): [400, 404],
    ("post", "/manage/delete_pos_terminal"): [400, 404],
    ("post", "/manage/save_settings"): [400],
    ("post", "/manage/simulate"): [400, 404, 422],
}

_ID = {"type": "string", "format": "uuid"}


def _model(model: type[BaseModel], defs: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF)
    defs.update(schema.pop("$defs", {}))
    return schema


def _save_body(model: type[BaseModel], defs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A save: without ``id`` (or null) it creates, needing the model's required fields; with an ``id`` it
    updates, needing only the fields that change."""
    full = _model(model, defs)
    properties = {**full["properties"], **extra}
    create = {**full, "properties": {**properties, "id": {"type": "null"}},
              "required": [f for f in full.get("required", []) if f != "id"], "title": f"create {full['title']}"}
    update = {**full, "properties": {**properties, "id": _ID}, "required": ["id"],
              "title": f"update {full['title']}"}
    return {"oneOf": [create, update]}


def _connection_details(defs: dict[str, Any]) -> dict[str, Any]:
    """``connection_details``: one variant per connection type, with the details model that validates it
    (models/connection.py), where the stored model keeps ``details`` a plain object."""
    variants = []
    for kind, model in DETAILS.items():
        details = _model(model, defs)
        variants.append({"type": "object", "title": f"{kind} connection", "additionalProperties": False,
                         "required": ["type", *(["details"] if details.get("required") else [])],
                         "properties": {"type": {"const": kind}, "details": details}})
    return {"oneOf": variants}


def _operation_body(defs: dict[str, Any]) -> dict[str, Any]:
    """One schema per operation: its name and the params model it takes (docs/http.md)."""
    variants = []
    for name, spec in OPERATIONS.items():
        params = _model(spec.params, defs)
        needed = bool(params.get("required")) or "oneOf" in params  # {} or null is refused
        variant: dict[str, Any] = {
            "type": "object", "title": name, "additionalProperties": False,
            "required": ["device_id", "operation"],
            "properties": {"device_id": _ID, "operation": {"const": name},
                           "params": params if needed else {"anyOf": [params, {"type": "null"}]},
                           "timeout_ms": {"type": "integer", "minimum": 1, "maximum": 3_600_000}},
        }
        if needed:
            variant["required"].append("params")
        variants.append(variant)
    return {"oneOf": variants}


def _simulate_body(defs: dict[str, Any]) -> dict[str, Any]:
    schema = _model(SimulateRequest, defs)
    schema["properties"]["device_id"] = _ID
    fail_next = defs["FailNext"]["properties"]
    fail_next["code"] = {**fail_next["code"], "enum": sorted(int(code) for code in ERRORS)}
    fail_next["operation"] = {**fail_next["operation"], "enum": sorted(OPERATIONS)}
    return schema


def _request_bodies(defs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    delete = {"type": "object", "required": ["id"], "properties": {"id": _ID}, "additionalProperties": False}
    settings = _model(Settings, defs)
    settings.pop("required", None)
    bodies = {
        "/devices/operation": _operation_body(defs),
        "/manage/save_fiscal_device": _save_body(FiscalDeviceConfig, defs,
                                                 create_scan_folder={"type": "boolean", "default": False}),
        "/manage/save_pos_terminal": _save_body(PosConfig, defs),
        "/manage/delete_fiscal_device": delete,
        "/manage/delete_pos_terminal": delete,
        "/manage/save_settings": settings,
        "/manage/simulate": _simulate_body(defs),
    }
    defs["ConnectionDetails"] = _connection_details(defs)
    return bodies


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """The FastAPI-generated document, completed (a new dict)."""
    schema = copy.deepcopy(schema)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):  # validation errors are 400 in our shape
        components.pop(unused, None)
    components["Error"] = ERROR_SCHEMA
    defs: dict[str, Any] = {}
    bodies = _request_bodies(defs)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if path in bodies and method == "post":
                operation["requestBody"] = {"required": True,
                                            "content": {"application/json": {"schema": bodies[path]}}}
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "device_id" and parameter["in"] == "path":
                    parameter["schema"] = _ID
            responses = operation.setdefault("responses", {})
            for generated in ("422", "default"):
                responses.pop(generated, None)
            statuses = set(STATUSES.get((method, path), []))
            if "requestBody" in operation or operation.get("parameters"):
                statuses.add(400)
            statuses.add(403)
            if (method, path) not in OPEN:
                statuses.add(401)
            for status in sorted(statuses):
                responses[str(status)] = {"description": _describe(status),
                                          "content": {"application/json": {"schema": ERROR_REF}}}
    components.update(defs)
    return schema


def _describe(status: int) -> str:
    names = sorted({spec.name for spec in ERRORS.values() if spec.http_status == status})
    return f"error {{status, error}}: {', '.join(names)} (docs/errors.md)"
