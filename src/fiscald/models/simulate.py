"""The fault-injection control of Simulated devices: what ``POST /manage/simulate`` and ``fiscald simulate`` send.

A request changes only the fields it names (an omitted field keeps its value), so ``{"device_id": ...}`` alone
reads the current state. ``"fail_next": null`` cancels a pending one-shot failure. Which faults and codes a
device accepts depends on its kind (register or POS terminal); the driver checks that.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, field_validator

from fiscald.errors import Code, FiscalError
from fiscald.operations import OPERATIONS
from fiscald.operations.registry import config_error_from, unknown_name

FaultName = Literal[
    "none", "paper_out", "cover_open", "disconnected", "fiscal_memory_full", "busy", "decline", "cancel", "timeout",
]
Millis = Annotated[StrictInt, Field(ge=0, le=600_000)]


class FailNext(BaseModel):
    """Fail the next ``operation`` with ``code``: ``before`` it touches the device, or ``after_print`` (done and
    recorded, but the answer is lost)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    operation: StrictStr
    code: StrictInt
    at: Literal["before", "after_print"] = "before"

    @field_validator("operation")
    @classmethod
    def _known_operation(cls, value: str) -> str:
        if value not in OPERATIONS:
            raise ValueError(unknown_name("operation", value, OPERATIONS))
        return value

    @field_validator("code")
    @classmethod
    def _known_code(cls, value: int) -> int:
        if value not in Code._value2member_map_:
            raise ValueError(f"{value} is not an error code of the error table")
        return value


class SimulateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    device_id: StrictStr
    fault: FaultName | None = None
    latency_ms: Millis | None = None
    latency_jitter_ms: Millis | None = None
    seed: Annotated[StrictInt, Field(ge=0, le=2**63 - 1)] | None = None
    fail_next: FailNext | None = None

    @field_validator("device_id")
    @classmethod
    def _uuid(cls, value: str) -> str:
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise ValueError(f"{value!r} is not a UUID") from None

    @property
    def changes_fail_next(self) -> bool:
        """True when the request names ``fail_next`` (a value sets it, ``null`` cancels it)."""
        return "fail_next" in self.model_fields_set


def parse_simulate(data: Any) -> SimulateRequest:
    """Validate a decoded JSON body; 400 Config naming the first wrong field."""
    if not isinstance(data, dict):
        raise FiscalError(Code.CONFIG, "body: expected a JSON object")
    try:
        return SimulateRequest.model_validate(data)
    except ValidationError as exc:
        raise config_error_from(exc) from None
