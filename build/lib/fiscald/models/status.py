"""Device status as drivers report it and interfaces show it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fiscald.errors import FiscalError, Language


class DeviceStatus(StrEnum):
    CONNECTED = "Connected"
    CONNECTING = "Connecting"
    DISCONNECTED = "Disconnected"
    ERROR = "Error"
    DISABLED = "Disabled"


_STATUS_TEXT: dict[DeviceStatus, tuple[str, str]] = {
    DeviceStatus.CONNECTED: ("Conectat", "Connected"),
    DeviceStatus.CONNECTING: ("Se conectează", "Connecting"),
    DeviceStatus.DISCONNECTED: ("Deconectat", "Disconnected"),
    DeviceStatus.ERROR: ("Eroare", "Error"),
    DeviceStatus.DISABLED: ("Dezactivat", "Disabled"),
}


@dataclass(frozen=True, eq=False)
class StatusInfo:
    status: DeviceStatus
    error: FiscalError | None = None  # why, when status is Error or Disconnected

    def _key(self) -> tuple[str, int | None, str | None]:
        return (self.status.value, None if self.error is None else int(self.error.code),
                None if self.error is None else self.error.detail)

    def __eq__(self, other: object) -> bool:  # equal errors, not the same exception object
        return isinstance(other, StatusInfo) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def text(self, language: Language) -> str:
        ro, en = _STATUS_TEXT[self.status]
        base = ro if language == "ro" else en
        return f"{base}: {self.error.message(language)}" if self.error is not None else base
