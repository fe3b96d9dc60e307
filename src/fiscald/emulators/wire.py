"""What every emulated register keeps about its line, whatever its brand: the line faults a test arms through
``"wire"`` in POST /simulate, the counters of what crossed the line, the register's identity and memory in its
data dir, and amounts as the registers print them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from fiscald.drivers.base import DriverContext
from fiscald.drivers.simulated.register import SimulatedRegister
from fiscald.models.config import ConnectionDetails, FiscalDeviceConfig
from fiscald.operations.registry import config_error_from
from fiscald.store import Database


class WireFaults(BaseModel):
    """Faults of the line itself (``"wire"`` in POST /simulate); a request changes only the fields it names."""

    model_config = ConfigDict(extra="forbid")
    drop_replies: StrictInt | None = Field(default=None, ge=0, le=1000)
    from_command: StrictInt | None = Field(default=None, ge=0, le=0xFFFF)
    corrupt_replies: StrictInt | None = Field(default=None, ge=0, le=1000)
    nak_frames: StrictInt | None = Field(default=None, ge=0, le=1000)
    busy_ms: StrictInt | None = Field(default=None, ge=0, le=600_000)


class FaultAt(BaseModel):
    """``"fault_at"`` in POST /simulate: set ``fault`` when the ``nth`` next frame carrying ``command`` arrives,
    before it executes (paper running out at a receipt's close or between two payments)."""

    model_config = ConfigDict(extra="forbid")
    command: StrictInt = Field(ge=0, le=0xFFFF)
    fault: Literal["paper_out", "cover_open"]
    nth: StrictInt = Field(default=1, ge=1, le=1000)

    @classmethod
    def parse(cls, body: Any) -> FaultAt | None:
        """POST /simulate's ``"fault_at"`` (null clears it)."""
        try:
            return None if body is None else cls.model_validate(body)
        except ValidationError as exc:
            raise config_error_from(exc, "fault_at") from None

    def arrived(self, cmd: int) -> tuple[FaultAt | None, str | None]:
        """A frame carrying ``cmd`` arrived: (what stays armed, the fault to set now)."""
        if cmd != self.command:
            return self, None
        if self.nth > 1:
            return self.model_copy(update={"nth": self.nth - 1}), None
        return None, self.fault


@dataclass
class WireState:
    drop_replies: int = 0
    from_command: int | None = None  # dropping starts at the next frame carrying this command (None: at once)
    corrupt_replies: int = 0
    nak_frames: int = 0
    busy_ms: int = 0

    def arm(self, body: Any) -> None:
        """Apply POST /simulate's ``"wire"`` object: the fields it names change, the others stay."""
        try:
            faults = WireFaults.model_validate(body)
        except ValidationError as exc:
            raise config_error_from(exc, "wire") from None
        for name, value in faults.model_dump(exclude_unset=True).items():
            setattr(self, name, value)


def line_controls(body: dict[str, Any], wire: WireState, fault_at: FaultAt | None) -> FaultAt | None:
    """Take the line's part out of POST /simulate's ``body`` (a copy the caller owns): ``"wire"`` arms ``wire``;
    ``"fault_at"`` gives the fault armed from now (null clears it; absent keeps ``fault_at``). What is left in
    ``body`` is the register's (/manage/simulate's body without device_id)."""
    wire_body = body.pop("wire", None)
    if "fault_at" in body:
        fault_at = FaultAt.parse(body.pop("fault_at"))
    if wire_body is not None:
        wire.arm(wire_body)
    return fault_at


@dataclass
class LineStats:
    """What crossed the line and where the emulator's time went (for the benchmark)."""
    bytes_in: int = 0
    bytes_out: int = 0
    line_s: float = 0.0  # time spent pacing bytes at ``baud``
    device_s: float = 0.0  # time spent executing commands


def device_id_in(data_dir: Path) -> str:
    """The emulated register's identity, kept in its data dir so it survives restarts."""
    path = data_dir / "emulator-id"
    if not path.exists():
        path.write_text(str(uuid.uuid4()), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


def register_in(data_dir: Path, name: str, vat_rates: dict[str, int] | None = None,
                ) -> tuple[Database, str, SimulatedRegister]:
    """The emulated register's memory in ``data_dir`` (made if missing): its database, its identity and the
    Simulated register that keeps its books, named ``name``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(data_dir / "emulator.sqlite3")
    device_id = device_id_in(data_dir)
    config = FiscalDeviceConfig(id=device_id, name=name, manufacturer="Simulated", model="Simulated",
                                connection_details=ConnectionDetails(type="Virtual"), vat_rates=vat_rates)
    register = SimulatedRegister(config, DriverContext(db, lambda a, b: None, lambda e: None, lambda: "en"))
    return db, device_id, register


def money(cents: int) -> str:
    """1234 -> ``"12.34"``, -5 -> ``"-0.05"``."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"
