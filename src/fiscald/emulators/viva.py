"""A Viva.com card terminal on the wire: the Local Terminal API (``/pos/v1``) and the Cloud Terminal API
(``/connect/token`` + ``/ecr/v1``) on one HTTP port, with a ``POST /simulate`` control on another.

Built from Viva's documentation and Odoo's client, not from our driver (sources as in drivers/viva/api.py):
- sessions are keyed by the ECR's ``sessionId``; posting the same id again answers the same session and never
  starts a second one; the terminal answers PROCESSING at once and the outcome after the card delay [S17];
- the cloud answers 202 while a session is in progress [S20], its token service takes HTTP basic client
  credentials with ``grant_type=client_credentials`` and an expired token is answered 401 ``{"detail": "Could
  not validate credentials"}`` (the text Odoo's client renews on [S20]);
- abort succeeds only before the card is read [S18: Android abort, "when the customer's card has already been
  read" it is not possible]; a sale while another session is in progress is refused busy (409) [ours];
- the ISV variant [S23][S24] serves ``/ecr/isv/v1`` to the ISV partner's own credentials (a merchant token is
  refused there, and an ISV token on ``/ecr/v1``, 403 [ours]): a sale must carry ``isvDetails`` with the fee
  ``amount`` (0 to the sale's amount) and the ``terminalMerchantId`` owning the terminal, a refund that merchant;
  a session in progress reads 200 with eventId 1100, abort is ``GET sessions:abort/{id}?cashRegisterId=``, and
  there is no unreferenced refund;
- a failed session carries ``success`` false, ``eventId`` and ``message`` (1006 "Transaction declined by
  server" [S18, webhook 1803]); an aborted one ``abortOperation``/``abortSuccess`` true [S18]; the texts of a
  cardholder cancel and timeout are [ours].

Everything it charged is in its own ledger (``GET /charges`` on the control port), written to the data dir
before the outcome is answered, so tests can count charges across restarts. The server is a deliberately small
HTTP/1.1 one (one request per connection) so that a lost answer can really drop the connection and an offline
terminal really refuses it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import ipaddress
import json
import os
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

CLIENT_ID = "fiscald-emulator"
CLIENT_SECRET = "emulator-secret"
ISV_CLIENT_ID = "fiscald-isv-emulator"  # an ISV partner's credentials [S23]
ISV_CLIENT_SECRET = "isv-emulator-secret"
MERCHANT_ID = "8d3a1c52-6f0e-4b7a-9c1d-2e5f4a6b7c80"  # the merchant owning the terminal (ISV variant) [ours]
IN_PROGRESS = 1100  # eventId of an ISV session still in progress [S24]
TERMINAL_ID = "16000010"  # the example terminal id of Viva's sale request [S22]
DECLINED = (1006, "Transaction declined by server")  # [S18]
# EventIds 1003 "terminal timed out" and 1016 "aborted" as the ISV client lists them [S24]; Viva publishes none for a
# cardholder's cancel on the terminal, taken as an abort [ours]; the messages are [ours]
CANCELLED = (1016, "Transaction cancelled by the cardholder")
TIMED_OUT = (1003, "Transaction timed out waiting for the card")
ABORTED = (1016, "Transaction aborted")  # the session's abortOperation/abortSuccess are documented [S18]
KINDS = ("sale", "refund", "unreferenced-refund")


class Answer(Exception):
    """An HTTP answer (or, with ``status`` 0, a connection closed without one)."""

    def __init__(self, status: int, body: Any = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


@dataclass
class Session:
    session_id: str
    kind: str
    amount: int
    currency_code: str
    reference: str
    cash_register_id: str
    parent: str | None
    started: float  # wall-clock seconds
    card_at: float  # when the card is read (the outcome follows at once)
    outcome: str  # approve | decline | cancel | timeout
    aborted: bool = False
    final: dict[str, Any] | None = None
    merchant_id: str | None = None  # the merchant an ISV partner charged for (ISV variant only)
    isv_amount: int | None = None  # the partner's fee on a sale (ISV variant only)


@dataclass
class Faults:
    decline_next: bool = False
    cancel_next: bool = False
    timeout_next: bool = False
    lose_next_answer: bool = False
    offline: bool = False
    card_delay_ms: int = 300
    token_ttl_s: int = 3600


@dataclass
class State:
    sessions: dict[str, Session] = field(default_factory=dict)
    charges: list[dict[str, Any]] = field(default_factory=list)  # approved money movements, in order


def _digits(seed: str, count: int) -> str:
    return f"{int(hashlib.sha256(seed.encode()).hexdigest(), 16) % 10**count:0{count}d}"


class VivaEmulator:
    def __init__(self, data_dir: Path, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET,
                 terminal_id: str = TERMINAL_ID) -> None:
        self.path = data_dir / "viva-terminal.json"
        self.credentials = (client_id, client_secret)
        self.terminal_id = terminal_id
        self.faults = Faults()
        self.state = State()
        self.isv_credentials = (ISV_CLIENT_ID, ISV_CLIENT_SECRET)
        self.merchant_id = MERCHANT_ID
        self.tokens: dict[str, tuple[float, bool]] = {}  # token -> expiry (wall clock), issued to the ISV
        self.requests: list[dict[str, Any]] = []  # every API request: method, path, body (for tests)
        self._load()

    # -- durable state ----------------------------------------------------------------------------
    def _load(self) -> None:
        if not self.path.exists():
            return
        raw = json.loads(self.path.read_text(encoding="utf-8"))
        self.state = State({sid: Session(**s) for sid, s in raw["sessions"].items()}, raw["charges"])

    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        data = {"sessions": {sid: asdict(s) for sid, s in self.state.sessions.items()},
                "charges": self.state.charges}
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    # -- sessions ---------------------------------------------------------------------------------
    def _advance(self, session: Session) -> None:
        """The session's outcome once its card time has come (recorded, and charged, exactly once)."""
        if session.final is not None or time.time() < session.card_at:
            return
        approved = session.outcome == "approve"
        event = {"decline": DECLINED, "cancel": CANCELLED, "timeout": TIMED_OUT}.get(session.outcome, (0, ""))
        session.final = self._session_body(session, approved, *(event if not approved else
                                                                 (0, "Transaction successful")))
        if approved:
            charge = {"session_id": session.session_id, "kind": session.kind, "amount": session.amount,
                      "currency_code": session.currency_code, "parent": session.parent}
            if session.merchant_id is not None:
                charge.update(isv_amount=session.isv_amount, merchant_id=session.merchant_id)
            self.state.charges.append(charge)
        self._save()

    def _session_body(self, s: Session, success: bool, event_id: int, message: str,
                      aborted: bool = False) -> dict[str, Any]:
        seed = s.session_id
        body: dict[str, Any] = {
            "sessionId": s.session_id, "terminalId": self.terminal_id, "cashRegisterId": s.cash_register_id,
            "amount": s.amount, "currencyCode": s.currency_code, "merchantReference": s.reference,
            "customerTrns": s.reference, "tipAmount": 0, "preauth": False, "installments": 0,
            "success": success, "eventId": event_id, "message": message,
            "abortOperation": aborted, "abortSuccess": aborted,
            "transactionDateTime": dt.datetime.fromtimestamp(s.card_at).astimezone().isoformat(timespec="seconds"),
            "transactionId": None, "authorizationId": None, "retrievalReferenceNumber": None,
            "referenceNumber": None, "primaryAccountNumberMasked": None, "applicationLabel": None,
        }
        if success:
            body.update(transactionId=str(uuid.uuid5(uuid.NAMESPACE_URL, seed)),
                        authorizationId=_digits(seed + ":auth", 6),
                        retrievalReferenceNumber=_digits(seed + ":rrn", 12),
                        referenceNumber=int(_digits(seed + ":stan", 6)),
                        primaryAccountNumberMasked=f"479275******{_digits(seed + ':pan', 4)}",
                        applicationLabel="VISA", verificationMethod="CONTACTLESS - NO CVM",
                        orderCode=_digits(seed + ":order", 16))
        return body

    def _busy(self) -> bool:
        for other in self.state.sessions.values():
            self._advance(other)
            if other.final is None:
                return True
        return False

    def _isv_fee(self, kind: str, body: dict[str, Any], amount: int) -> int | None:
        """The ISV fee of an ISV request (None for a refund), its isvDetails checked [S24]."""
        details = body.get("isvDetails")
        if not isinstance(details, dict):
            raise Answer(400, {"detail": "isvDetails: required on the ISV endpoints"})
        if details.get("terminalMerchantId") != self.merchant_id:
            raise Answer(403, {"detail": "isvDetails.terminalMerchantId: not the merchant owning the terminal"})
        if kind != "sale":
            return None
        fee = details.get("amount")
        if not isinstance(fee, int) or isinstance(fee, bool) or not 0 <= fee <= amount:
            raise Answer(400, {"detail": "isvDetails.amount: the ISV fee in minor units, at most the amount"})
        return fee

    def start(self, kind: str, body: Any, cloud: bool, isv: bool = False) -> Session:
        """A new session, or the one already started under this sessionId (idempotent)."""
        if not isinstance(body, dict):
            raise Answer(400, {"detail": "body: expected a JSON object"})
        sid = body.get("sessionId")
        if not isinstance(sid, str) or not sid:
            raise Answer(400, {"detail": "sessionId: required"})
        existing = self.state.sessions.get(sid)
        if existing is not None:
            return existing
        amount = body.get("amount")
        currency = body.get("currencyCode")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise Answer(400, {"detail": "amount: a positive integer of minor units"})
        if not (isinstance(currency, int) or (isinstance(currency, str) and currency.isdigit())):
            raise Answer(400, {"detail": "currencyCode: the ISO 4217 numeric code"})
        if cloud and str(body.get("terminalId")) != self.terminal_id:
            raise Answer(404, {"detail": f"terminalId: no terminal {body.get('terminalId')}"})
        fee = self._isv_fee(kind, body, amount) if isv else None
        parent = body.get("parentSessionId")
        if kind == "refund":
            original = self.state.sessions.get(parent) if isinstance(parent, str) else None
            if original is None or original.final is None or not original.final["success"]:
                raise Answer(400, {"detail": "parentSessionId: no successful session"})
        if self._busy():
            raise Answer(409, {"detail": "the terminal is busy with another session"})
        now = time.time()
        f = self.faults
        outcome = ("decline" if f.decline_next else "cancel" if f.cancel_next else
                   "timeout" if f.timeout_next else "approve")
        f.decline_next = f.cancel_next = f.timeout_next = False
        session = Session(sid, kind, amount, str(currency), str(body.get("merchantReference") or ""),
                          str(body.get("cashRegisterId") or ""), parent if isinstance(parent, str) else None,
                          now, now + f.card_delay_ms / 1000, outcome,
                          merchant_id=self.merchant_id if isv else None, isv_amount=fee)
        self.state.sessions[sid] = session
        self._save()
        return session

    def get(self, sid: str) -> Session:
        session = self.state.sessions.get(sid)
        if session is None:
            raise Answer(404, {"detail": f"no session {sid}"})
        self._advance(session)
        return session

    def abort(self, sid: str) -> None:
        session = self.get(sid)
        if session.final is not None or time.time() >= session.card_at:
            raise Answer(400, {"detail": "the card was already read: the session can no longer be aborted"})
        session.aborted = True
        session.final = self._session_body(session, False, *ABORTED, aborted=True)
        self._save()

    # -- the two APIs -----------------------------------------------------------------------------
    def _lose_answer(self) -> None:
        if self.faults.lose_next_answer:
            self.faults.lose_next_answer = False
            raise Answer(0)

    def local(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        """The Local Terminal API under /pos/v1 [S17][S21]."""
        rest = path.removeprefix("/pos/v1/")
        if method == "POST" and rest.startswith("transactions:"):
            kind = rest.removeprefix("transactions:")
            if kind == "abort":
                self.abort(str(body.get("sessionId") if isinstance(body, dict) else ""))
                return 200, {"sessionId": body["sessionId"], "state": "ABORTED"}
            if kind not in KINDS:
                raise Answer(404, {"detail": f"no action {kind}"})
            session = self.start(kind, body, cloud=False)
            self._lose_answer()
            return 200, {"sessionId": session.session_id, "state": "PROCESSING"}
        if method == "GET" and rest.startswith("sessions/"):
            session = self.get(rest.removeprefix("sessions/"))
            return 200, session.final or {"sessionId": session.session_id, "state": "PROCESSING"}
        raise Answer(404, {"detail": f"no route {method} {path}"})

    def token(self, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        """``POST /connect/token``: client credentials in HTTP basic auth [S20]."""
        form = parse_qs(body.decode("utf-8", "replace"))
        try:
            user, _, password = base64.b64decode(headers.get("authorization", "").removeprefix("Basic ")).decode(
            ).partition(":")
        except (ValueError, UnicodeDecodeError):
            user = password = ""
        if form.get("grant_type") != ["client_credentials"]:
            return 400, {"error": "unsupported_grant_type"}
        if (user, password) not in (self.credentials, self.isv_credentials):
            return 400, {"error": "invalid_client"}
        token = secrets.token_urlsafe(24)
        isv = (user, password) == self.isv_credentials
        self.tokens[token] = (time.time() + self.faults.token_ttl_s, isv)
        return 200, {"access_token": token, "expires_in": self.faults.token_ttl_s, "token_type": "Bearer",
                     "scope": "urn:viva:payments:core:api:isv" if isv else "urn:viva:payments:ecr:api"}

    def cloud(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str],
              body: Any) -> tuple[int, Any]:
        """The Cloud Terminal API under /ecr/v1 [S18][S20], and its ISV variant under /ecr/isv/v1 [S24]."""
        token = headers.get("authorization", "").removeprefix("Bearer ")
        expires, isv_token = self.tokens.get(token, (0.0, False))
        if expires <= time.time():
            raise Answer(401, {"detail": "Could not validate credentials"})
        isv = path.startswith("/ecr/isv/v1/")
        if isv != isv_token:
            raise Answer(403, {"detail": f"this token is not for the {'ISV' if isv else 'merchant'} endpoints"})
        rest = path.removeprefix("/ecr/isv/v1/" if isv else "/ecr/v1/")
        if method == "POST" and rest.startswith("transactions:"):
            kind = rest.removeprefix("transactions:")
            if kind not in KINDS or (isv and kind == "unreferenced-refund"):
                raise Answer(404, {"detail": f"no action {kind}"})
            self.start(kind, body, cloud=True, isv=isv)
            self._lose_answer()
            return 200, None
        if isv:
            return self._isv_sessions(method, rest, query)
        if rest.startswith("sessions/"):
            sid = rest.removeprefix("sessions/")
            if method == "GET":
                session = self.get(sid)
                return (200, session.final) if session.final is not None else (202, None)
            if method == "DELETE":
                if not query.get("cashRegisterId"):
                    raise Answer(400, {"detail": "cashRegisterId: required"})
                self.abort(sid)
                return 200, None
        raise Answer(404, {"detail": f"no route {method} {path}"})

    def _isv_sessions(self, method: str, rest: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        """``GET sessions/{id}`` (eventId 1100 while in progress) and ``GET sessions:abort/{id}`` [S24]."""
        if method == "GET" and rest.startswith("sessions/"):
            session = self.get(rest.removeprefix("sessions/"))
            if session.final is None:
                return 200, {"sessionId": session.session_id, "success": False, "eventId": IN_PROGRESS}
            return 200, session.final
        if method == "GET" and rest.startswith("sessions:abort/"):
            if not query.get("cashRegisterId"):
                raise Answer(400, {"detail": "cashRegisterId: required"})
            self.abort(rest.removeprefix("sessions:abort/"))
            return 200, None
        raise Answer(404, {"detail": f"no route {method} /ecr/isv/v1/{rest}"})

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        parts = urlsplit(target)
        path = parts.path
        if path == "/connect/token" and method == "POST":
            return self.token(headers, raw)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            raise Answer(400, {"detail": "body: not JSON"}) from None
        self.requests.append({"method": method, "path": path, "query": parts.query, "body": body})
        if path.startswith("/pos/v1/"):
            return self.local(method, path, body)
        if path.startswith(("/ecr/v1/", "/ecr/isv/v1/")):
            return self.cloud(method, path, parse_qs(parts.query), headers, body)
        raise Answer(404, {"detail": f"no route {method} {path}"})

    # -- control ----------------------------------------------------------------------------------
    def control(self, body: Any) -> dict[str, Any]:
        """``POST /simulate``: change the named faults (a one-shot ``*_next`` applies to the next session)."""
        if not isinstance(body, dict):
            raise Answer(400, {"status": 400, "error": "body: expected a JSON object"})
        known = set(asdict(self.faults)) | {"expire_tokens"}
        unknown = sorted(set(body) - known)
        if unknown:
            raise Answer(400, {"status": 400, "error": f"{unknown[0]}: unknown field (fields: {sorted(known)})"})
        for name, value in body.items():
            if name == "expire_tokens":
                if value is True:
                    self.tokens.clear()
                continue
            expected = int if name in ("card_delay_ms", "token_ttl_s") else bool
            if type(value) is not expected or (expected is int and not 0 <= value <= 600_000):
                raise Answer(400, {"status": 400, "error": f"{name}: expected {expected.__name__}"})
            setattr(self.faults, name, value)
        return asdict(self.faults)


# -- serving ----------------------------------------------------------------------------------------
async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    request_line, *lines = head.decode("latin-1").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines if h)}
    length = int(headers.get("content-length", "0") or 0)
    body = await reader.readexactly(length) if length else b""
    return method, target, headers, body


def _write(writer: asyncio.StreamWriter, status: int, body: Any) -> None:
    payload = b"" if body is None else json.dumps(body).encode()
    kind = "content-type: application/json\r\n" if body is not None else ""
    writer.write(f"HTTP/1.1 {status} X\r\n{kind}content-length: {len(payload)}\r\nconnection: close\r\n\r\n"
                 .encode() + payload)


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    handle: Callable[[str, str, dict[str, str], bytes], Awaitable[tuple[int, Any]]]) -> None:
    """One request on a connection (both ports): read it, answer what ``handle`` says (status 0: the answer is
    lost, the connection closes without one), close. A broken or malformed request just closes it."""
    try:
        status, answer = await handle(*await _read_request(reader))
        if status:
            _write(writer, status, answer)
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, OSError):
        pass
    finally:
        writer.close()


class ApiServer:
    """The API port; ``offline`` closes it (connections are refused) and back online reopens it."""

    def __init__(self, emulator: VivaEmulator, host: str, port: int) -> None:
        self.emulator = emulator
        self.host, self.port = host, port
        self.server: asyncio.Server | None = None

    async def open(self) -> None:
        self.server = await asyncio.start_server(self._connection, self.host, self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def online(self, on: bool) -> None:
        if on and self.server is None:
            await self.open()
        elif not on and self.server is not None:
            self.server.close()
            self.server = None

    def close(self) -> None:
        if self.server is not None:
            self.server.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def handle(method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
            try:
                return self.emulator.handle(method, target, headers, body)
            except Answer as exc:
                return exc.status, exc.body

        await _exchange(reader, writer, handle)


def loopback_host(header: str | None) -> bool:
    """A ``Host`` header naming this machine literally (``localhost``, a loopback IP, any port), or none: a page
    whose DNS name was re-pointed at 127.0.0.1 sends its own name and is refused (as interfaces/local_only.py)."""
    if header is None:
        return True
    host = header[1:header.find("]")] if header.startswith("[") else header.rsplit(":", 1)[0]
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve_control(emulator: VivaEmulator, api: ApiServer, host: str, port: int) -> asyncio.Server:
    """``POST /simulate`` and ``GET /charges`` on a loopback port; a foreign Host is refused (403)."""

    async def handle(method: str, target: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        if not loopback_host(headers.get("host")):
            return 403, {"status": 1015, "error": "Host: not a loopback name"}
        if method == "POST" and target == "/simulate":
            try:
                answer = emulator.control(json.loads(raw or b"{}"))
                await api.online(not emulator.faults.offline)
            except ValueError:
                return 400, {"status": 400, "error": "body: not JSON"}
            except Answer as exc:
                return exc.status, exc.body
            return 200, answer
        if method == "GET" and target == "/charges":
            return 200, {"charges": emulator.state.charges, "requests": emulator.requests}
        return 404, {"status": 404, "error": "POST /simulate or GET /charges"}

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _exchange(reader, writer, handle)

    return await asyncio.start_server(connection, host, port)


async def run(emulator: VivaEmulator, listen: tuple[str, int], control: tuple[str, int] | None,
              stop: asyncio.Event, card_delay_ms: int | None = None) -> None:
    """Serve until ``stop`` is set, printing ``listening on HOST:PORT`` (and ``control on HOST:PORT``)."""
    if card_delay_ms is not None:
        emulator.faults.card_delay_ms = card_delay_ms
    api = ApiServer(emulator, *listen)
    await api.open()
    servers = []
    try:
        if control is not None:
            server = await serve_control(emulator, api, *control)
            servers.append(server)
            host, port = server.sockets[0].getsockname()[:2]
            print(f"control on {host}:{port}", flush=True)
        print(f"listening on {listen[0]}:{api.port}", flush=True)
        await stop.wait()
    finally:
        api.close()
        for server in servers:
            with contextlib.suppress(Exception):
                server.close()
