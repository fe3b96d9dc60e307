"""The one error table (docs/errors.md) and the one exception type.

Every interface renders a :class:`FiscalError` in its own wire form; the code, name and
HTTP status come from :data:`ERRORS` and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Literal

Language = Literal["ro", "en"]


class Code(IntEnum):
    CONFIG = 400
    DEVICE_NOT_FOUND = 404
    METHOD_NOT_ALLOWED = 405
    INTERNAL = 1000
    PERSISTENCE = 1001
    SERIALIZATION = 1002
    API_SERVER = 1003
    CONNECTION = 1004
    INTERNET = 1005
    UPDATE = 1006
    SECRET_DATA_CORRUPTED = 1007
    IDEMPOTENCY_CONFLICT = 1008
    OPERATION_IN_PROGRESS = 1009
    OUTCOME_UNKNOWN = 1010
    UNAUTHORIZED = 1011
    NOT_SUPPORTED = 1012
    TIMEOUT = 1013
    BUSY = 1014
    FORBIDDEN = 1015
    DEVICE = 2000
    PAPER_OUT = 2001
    COVER_OPEN = 2002
    DEVICE_TIMEOUT = 2003
    DEVICE_DISCONNECTED = 2004
    RECEIPT_OPEN = 2005
    Z_REPORT_REQUIRED = 2006
    FISCAL_MEMORY_FULL = 2007
    INVALID_VAT_GROUP = 2008
    PAYMENT_INSUFFICIENT = 2009
    INVALID_AMOUNT = 2010
    NO_RECEIPT_TO_DUPLICATE = 2011
    CASH_OUT_EXCEEDS_DRAWER = 2012
    DEVICE_BUSY = 2013
    POS = 3000
    CARD_DECLINED = 3001
    POS_CANCELLED = 3002
    POS_TIMEOUT = 3003
    POS_NOT_LINKED = 3004


@dataclass(frozen=True)
class ErrorSpec:
    code: Code
    name: str
    http_status: int
    ro: str
    en: str
    retryable: bool = False
    #: an operation that failed with this code left nothing on the device (it was refused before anything was
    #: printed, or its receipt was cancelled): its Idempotency-Key is not consumed (docs/http.md). The default of
    #: the code; a driver that knows better says so on the error (:attr:`FiscalError.left_nothing`).
    leaves_nothing: bool = False


_TABLE: tuple[ErrorSpec, ...] = (
    ErrorSpec(Code.CONFIG, "Config", 400, "Cerere sau configurare invalidă", "Invalid request or configuration"),
    ErrorSpec(Code.DEVICE_NOT_FOUND, "DeviceNotFound", 404, "Dispozitivul sau resursa nu a fost găsită",
              "Device or resource not found"),
    ErrorSpec(Code.METHOD_NOT_ALLOWED, "MethodNotAllowed", 405, "Metoda HTTP nu este permisă pentru această cale",
              "HTTP method not allowed on this path"),
    ErrorSpec(Code.INTERNAL, "Internal", 500, "Eroare internă", "Internal error"),
    ErrorSpec(Code.PERSISTENCE, "Persistence", 500, "Eroare la salvarea datelor", "Data store error"),
    ErrorSpec(Code.SERIALIZATION, "Serialization", 500, "Eroare de serializare", "Serialization error"),
    ErrorSpec(Code.API_SERVER, "ApiServer", 500, "Eroare a serverului API", "API server error"),
    ErrorSpec(
        Code.CONNECTION, "Connection", 503, "Nu se poate conecta la dispozitiv", "Cannot connect to the device",
        retryable=True, leaves_nothing=True,
    ),
    ErrorSpec(Code.INTERNET, "Internet", 502, "Problemă de rețea", "Network problem", retryable=True),
    ErrorSpec(Code.UPDATE, "Update", 503, "Actualizarea a eșuat", "Update failed"),
    ErrorSpec(
        Code.SECRET_DATA_CORRUPTED, "SecretDataCorrupted", 500, "Datele secrete sunt corupte",
        "Stored secret data is corrupted",
    ),
    ErrorSpec(
        Code.IDEMPOTENCY_CONFLICT, "IdempotencyConflict", 409,
        "Cheia de idempotență a fost folosită pentru o altă cerere",
        "The Idempotency-Key was already used with a different request",
    ),
    ErrorSpec(
        Code.OPERATION_IN_PROGRESS, "OperationInProgress", 409,
        "Operația cu această cheie de idempotență este încă în curs",
        "The operation with this Idempotency-Key is still in progress",
        retryable=True,
    ),
    ErrorSpec(
        Code.OUTCOME_UNKNOWN, "OutcomeUnknown", 409,
        "Serviciul s-a oprit în timpul operației; verificați jurnalul înainte de a retipări",
        "The service stopped while the operation was on the device; check the journal before reprinting",
    ),
    ErrorSpec(Code.UNAUTHORIZED, "Unauthorized", 401, "Token API lipsă sau invalid", "Missing or invalid API token"),
    ErrorSpec(
        Code.NOT_SUPPORTED, "NotSupported", 422, "Operația nu este suportată de dispozitiv",
        "The device does not support this operation",
    ),
    ErrorSpec(
        Code.TIMEOUT, "Timeout", 504, "Operația nu a început în timpul alocat",
        "The operation did not start within its deadline", retryable=True, leaves_nothing=True,
    ),
    ErrorSpec(
        Code.BUSY, "Busy", 429, "Coada dispozitivului este plină", "The device queue is full", retryable=True,
        leaves_nothing=True,
    ),
    ErrorSpec(
        Code.FORBIDDEN, "Forbidden", 403, "Cerere refuzată: gazdă (Host) sau origine (Origin) străină",
        "Request refused: foreign Host or Origin",
    ),
    ErrorSpec(Code.DEVICE, "Device", 500, "Eroare a dispozitivului", "Device error"),
    ErrorSpec(
        Code.PAPER_OUT, "PaperOut", 500, "Lipsă hârtie în imprimantă.", "Printer out of paper.",
        leaves_nothing=True,
    ),
    ErrorSpec(
        Code.COVER_OPEN, "CoverOpen", 500, "Capacul imprimantei este deschis.", "Printer cover is open.",
        leaves_nothing=True,
    ),
    ErrorSpec(
        Code.DEVICE_TIMEOUT, "DeviceTimeout", 500, "Dispozitivul nu mai răspunde",
        "The device stopped answering",
    ),
    ErrorSpec(
        Code.DEVICE_DISCONNECTED, "DeviceDisconnected", 500, "Conexiunea cu dispozitivul s-a pierdut",
        "Connection to the device was lost",
    ),
    ErrorSpec(
        Code.RECEIPT_OPEN, "ReceiptOpen", 500, "Un bon fiscal este deja deschis", "A receipt is already open",
        leaves_nothing=True,
    ),
    ErrorSpec(
        Code.Z_REPORT_REQUIRED, "ZReportRequired", 500,
        "Au trecut 24 de ore de la deschiderea zilei fiscale; este necesar raportul Z",
        "24 hours passed since the fiscal day opened; a Z report is required", leaves_nothing=True,
    ),
    ErrorSpec(
        Code.FISCAL_MEMORY_FULL, "FiscalMemoryFull", 500, "Memoria fiscală este plină", "Fiscal memory is full",
        leaves_nothing=True,
    ),
    ErrorSpec(
        Code.INVALID_VAT_GROUP, "InvalidVatGroup", 422, "Cota TVA nu este programată în dispozitiv",
        "VAT rate is not programmed in the device", leaves_nothing=True,
    ),
    ErrorSpec(
        Code.PAYMENT_INSUFFICIENT, "PaymentInsufficient", 422, "Plata nu acoperă totalul bonului",
        "Payments do not cover the total", leaves_nothing=True,
    ),
    ErrorSpec(
        Code.INVALID_AMOUNT, "InvalidAmount", 422, "Sumă sau cantitate în afara limitelor dispozitivului",
        "Amount or quantity out of the device's range", leaves_nothing=True,
    ),
    ErrorSpec(
        Code.NO_RECEIPT_TO_DUPLICATE, "NoReceiptToDuplicate", 500, "Nu există un bon anterior pentru duplicat",
        "No previous receipt to print a copy of", leaves_nothing=True,
    ),
    ErrorSpec(
        Code.CASH_OUT_EXCEEDS_DRAWER, "CashOutExceedsDrawer", 500,
        "Suma scoasă depășește numerarul din sertar", "Cash out exceeds the cash in the drawer",
        leaves_nothing=True,
    ),
    ErrorSpec(
        Code.DEVICE_BUSY, "DeviceBusy", 500, "Dispozitivul este ocupat", "The device is busy", retryable=True,
        leaves_nothing=True,
    ),
    ErrorSpec(Code.POS, "Pos", 500, "Eroare a terminalului POS", "POS terminal error"),
    ErrorSpec(
        Code.CARD_DECLINED, "CardDeclined", 500, "Plata cu cardul a fost refuzată", "Card payment declined",
        leaves_nothing=True,
    ),
    ErrorSpec(
        Code.POS_CANCELLED, "PosCancelled", 500, "Tranzacția a fost anulată pe terminal",
        "Cancelled on the terminal", retryable=True, leaves_nothing=True,
    ),
    ErrorSpec(
        Code.POS_TIMEOUT, "PosTimeout", 500, "Terminalul POS nu răspunde", "No response from the POS terminal",
    ),
    ErrorSpec(
        Code.POS_NOT_LINKED, "PosNotLinked", 500, "Niciun terminal POS legat de casa de marcat",
        "Card payment needs a linked POS terminal, but none is linked or enabled", leaves_nothing=True,
    ),
)

ERRORS: dict[Code, ErrorSpec] = {spec.code: spec for spec in _TABLE}


class FiscalError(Exception):
    """The one exception type. ``detail`` names the field or cause; ``details`` carries extra data."""

    def __init__(self, code: Code, detail: str | None = None, details: dict[str, Any] | None = None, *,
                 left_nothing: bool | None = None, retryable: bool | None = None) -> None:
        self.code = code
        self.detail = detail
        self.details = details
        self._left_nothing = left_nothing
        self._retryable = retryable
        super().__init__(f"[{int(code)}] {ERRORS[code].name}" + (f": {detail}" if detail else ""))

    @property
    def spec(self) -> ErrorSpec:
        return ERRORS[self.code]

    @property
    def http_status(self) -> int:
        return self.spec.http_status

    def message(self, language: Language = "ro") -> str:
        base = self.spec.ro if language == "ro" else self.spec.en
        return f"{base}: {self.detail}" if self.detail else base

    def body(self, language: Language = "ro") -> dict[str, Any]:
        """The documented wire shape ``{"status", "error"}`` plus optional ``details``/``retryable``."""
        out: dict[str, Any] = {"status": int(self.code), "error": self.message(language)}
        if self.details:
            out["details"] = self.details
        out["retryable"] = self.spec.retryable if self._retryable is None else self._retryable
        return out

    @property
    def left_nothing(self) -> bool:
        """The failed operation left nothing on the device, so its Idempotency-Key is not consumed: what the
        raiser said (a driver that knows whether it printed), else the code's default (:attr:`ErrorSpec.
        leaves_nothing`)."""
        return self.spec.leaves_nothing if self._left_nothing is None else self._left_nothing

    @property
    def caused_by_request(self) -> bool:
        """Errors the caller caused (not stored for idempotency replay)."""
        return self.code in (Code.CONFIG, Code.DEVICE_NOT_FOUND, Code.NOT_SUPPORTED)


class ConnectionLost(FiscalError):
    """The link to the device is gone (2004): whatever was in flight has an unknown outcome. The manager sets
    the device Disconnected and reconnects it."""

    def __init__(self, detail: str) -> None:
        super().__init__(Code.DEVICE_DISCONNECTED, detail)
