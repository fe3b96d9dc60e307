"""The Viva.com card terminal ("VivaWallet" in FisCool's terms): one driver over the Local Terminal API
(connection type Network: the terminal's LAN address) and the Cloud Terminal API (connection type Cloud: the
merchant's own credentials, or with ``merchant_id`` an ISV partner's acting for that merchant).

Exactly once for money. Every transaction is a session whose id this driver chooses and *stores before the
request leaves* (the session ledger, in the device's state in the store). The id is derived from the operation's
Idempotency-Key (a random one without a key), so the same key always means the same session:
- a retry after a lost answer or a crash finds the stored session and polls it (re-sending the request only when
  the terminal never heard of it), never starting a second charge;
- the terminal's final answer is journaled (``pos_sale``/``pos_refund``/``pos_void``, and ``pos_failed`` for a
  decline, cancel or timeout) in the same store transaction that records it in the ledger;
- a session left unfinished (crash, timeout) is resolved at start-up, every 5 s while idle and by ``pos_status``.

Transaction ids in results are the session ids: ``pos_refund`` of one is a refund with ``parentSessionId``;
``original_transaction_id: "unreferenced"`` asks for an unreferenced refund. ``pos_void`` aborts a session still
in progress (possible only before the card is read) and refunds a completed one. ``pos_settlement`` is not
offered by either API: the terminal closes its own batch (1012). Sources: api.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from fiscald.drivers.base import DriverContext, Handlers, PosDriver, pos_handlers
from fiscald.drivers.simulated.printout import Printout, money
from fiscald.drivers.viva.api import (
    AuthFailed,
    CloudApi,
    Isv,
    LocalApi,
    NotFound,
    Refused,
    Request,
    TerminalApi,
    Unreachable,
)
from fiscald.errors import Code, FiscalError
from fiscald.models.config import PosConfig
from fiscald.models.connection import CloudDetails, NetworkDetails, connection
from fiscald.models.status import DeviceStatus, StatusInfo
from fiscald.operations import models as m
from fiscald.operations import results as r
from fiscald.store import devices as device_repo
from fiscald.store import journal

log = logging.getLogger("fiscald.viva")

MODELS = ("Q30", "Android", "iOS")  # FisCool names the Q30 [S1]; the APIs serve Viva's Android and iOS apps [S17]
UNREFERENCED = "unreferenced"  # pos_refund's original_transaction_id asking for an unreferenced refund [ours]
# ISO 4217 numeric codes of the currencies a Romanian shop meets (the APIs take the numeric code [S20])
CURRENCIES = {"RON": "946", "EUR": "978", "USD": "840", "GBP": "826", "HUF": "348", "BGN": "975", "PLN": "985",
              "CZK": "203", "CHF": "756", "SEK": "752", "DKK": "208", "NOK": "578"}
DECLINED_BY_SERVER = 1006  # EventId "Transaction declined by server" [S18, webhook 1803 example]
# the ISV client's table of session EventIds [S24 in api.py]: terminal timed out, aborted, insufficient funds
TIMED_OUT_EVENT, ABORTED_EVENT, INSUFFICIENT_FUNDS_EVENT = 1003, 1016, 1020
NAMESPACE = uuid.UUID("5b0e7d0c-3f0e-4c55-9a51-6b7f1f2d6a10")  # of the session ids derived from keys [ours]
MAX_WAIT_S = 300.0  # how long an operation waits for the cardholder before answering 3003
UNREACHABLE_S = 60.0  # how long polling bears a terminal that stopped answering before answering 3003
KEPT_FINISHED = 2000  # finished sessions kept in the ledger (older ones are asked of the terminal)
TITLES = {"sale": "VANZARE", "refund": "RETUR", "unreferenced-refund": "RETUR", "void": "ANULARE"}


def session_id_for(device_id: str, operation: str, key: str) -> str:
    """The session id of the operation with Idempotency-Key ``key``: the same key, the same session."""
    return str(uuid.uuid5(NAMESPACE, f"{device_id}\n{operation}\n{key}"))


def failure_code(session: dict[str, Any]) -> Code:
    """The error of a failed session: an abort or a cancel is 3002, a timeout 3003, a decline 3001.
    [S18] documents EventId 1006 (declined by server) and the AbortOperation/AbortSuccess fields, the ISV client
    [S24] the EventIds 1003 (timed out), 1016 (aborted) and 1020 (insufficient funds); the texts recognised for a
    cancel and a timeout are [ours]. The flags and texts go first, the EventIds decide when they say nothing."""
    message = str(session.get("message") or "").lower()
    if session.get("abortOperation") or session.get("abortSuccess") or "abort" in message or "cancel" in message:
        return Code.POS_CANCELLED
    if "timed out" in message or "timeout" in message:
        return Code.POS_TIMEOUT
    event = session.get("eventId")
    if event == ABORTED_EVENT:
        return Code.POS_CANCELLED
    if event == TIMED_OUT_EVENT:
        return Code.POS_TIMEOUT
    if event in (DECLINED_BY_SERVER, INSUFFICIENT_FUNDS_EVENT) or "declin" in message:
        return Code.CARD_DECLINED
    return Code.POS


def _now() -> str:
    return dt.datetime.now().astimezone().replace(microsecond=0).isoformat()


class VivaDriver(PosDriver):
    config: PosConfig
    resumes_interrupted = True
    poll_interval_s = 5.0  # while idle, sessions left unfinished are resolved (and journaled) every 5 s

    def __init__(self, config: PosConfig, ctx: DriverContext) -> None:
        super().__init__(config, ctx)
        self.api = self._api()
        self.ledger: dict[str, dict[str, Any]] = {}  # session id -> what was asked and what came of it
        self.number = 0  # last journaled transaction number

    def _api(self) -> TerminalApi:
        details = connection(self.config.connection_details)
        client = httpx.AsyncClient()
        if isinstance(details, CloudDetails):
            isv = Isv(details.merchant_id, details.isv_fee_bp) if details.merchant_id is not None else None
            return CloudApi(client, environment=details.environment, client_id=details.client_id,
                            client_secret=details.client_secret, terminal_id=details.terminal_id,
                            cash_register_id=details.cash_register_id, accounts_url=details.accounts_url,
                            api_url=details.api_url, isv=isv)
        assert isinstance(details, NetworkDetails)
        return LocalApi(client, details.ip_address, details.port, "fiscald")

    def build_handlers(self) -> Handlers:
        return pos_handlers(self)

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        device_id = self.config.id
        stored = await self.ctx.db.read(lambda c: device_repo.load_state(c, device_id))
        if stored is not None:
            self.ledger = dict(stored.get("sessions", {}))
            self.number = int(stored.get("number", 0))
        self.connected_device_id = self.api.terminal_id
        await self._check()
        if self.status.status == DeviceStatus.CONNECTED:
            await self._resolve_pending()

    async def stop(self) -> None:
        await self.api.close()
        self.set_status(StatusInfo(DeviceStatus.DISCONNECTED))

    async def _check(self) -> None:
        """Connected when the terminal (or the cloud) answers at all; any HTTP answer proves that."""
        try:
            await self.api.reachable()
        except Unreachable as exc:
            self.set_status(StatusInfo(DeviceStatus.DISCONNECTED, FiscalError(Code.CONNECTION, exc.detail)))
            return
        except AuthFailed as exc:
            self.set_status(StatusInfo(DeviceStatus.ERROR, FiscalError(Code.CONFIG, f"connection_details.details."
                                                                                      f"client_secret: {exc}")))
            return
        except Refused:
            pass
        self.set_status(StatusInfo(DeviceStatus.CONNECTED))

    async def poll(self) -> None:
        """While idle: resolve sessions left unfinished (a crash, a timeout); nothing goes out when there are none."""
        if any(rec["state"] == "sent" for rec in self.ledger.values()):
            await self._resolve_pending()

    async def _resolve_pending(self) -> None:
        """Ask the terminal about every session left in progress; journal those that have finished."""
        for sid, rec in list(self.ledger.items()):
            if rec["state"] != "sent":
                continue
            try:
                session = await self.api.session(sid)
            except NotFound:
                await self._save(sid, {**rec, "state": "not_started"})
                continue
            except (Unreachable, Refused, AuthFailed):
                return
            if session is not None:
                await self._settle(sid, rec, session)

    # -- the ledger -------------------------------------------------------------------------------
    def _state_json(self, ledger: dict[str, dict[str, Any]], number: int) -> dict[str, Any]:
        finished = [sid for sid, rec in ledger.items() if rec["state"] != "sent"]
        for sid in finished[:-KEPT_FINISHED]:  # insertion order: the oldest first
            del ledger[sid]
        return {"sessions": ledger, "number": number}

    async def _save(self, sid: str, rec: dict[str, Any], entry: Callable[[int], dict[str, Any]] | None = None,
                    also: dict[str, dict[str, Any]] | None = None) -> journal.JournalEntry | None:
        """Durably record ``rec`` (and ``also``, and a journal entry built from the next number) in one store
        transaction, then adopt it."""
        device_id = self.config.id
        ledger = {**self.ledger, sid: rec, **(also or {})}
        number = self.number + 1 if entry is not None else self.number
        state = self._state_json(dict(ledger), number)

        def write(conn: sqlite3.Connection) -> journal.JournalEntry | None:
            written = journal.append(conn, device_id, **entry(number)) if entry is not None else None
            device_repo.save_state(conn, device_id, state)
            return written

        written = await self.ctx.db.write(write)
        self.ledger, self.number = state["sessions"], number
        if written is not None:
            self.ctx.on_journal(written)
        return written

    def _session_id(self, operation: str) -> str:
        """The session of this operation's Idempotency-Key: the same one for a retry while it is unsettled or
        approved (polled or replayed, never a second charge), or failed without its caller having been told (a
        crash, an abort by pos_void: the retry learns that outcome). A failure a caller was answered (declined,
        cancelled) leaves the key free (docs/http.md), so a retry is a new attempt: the next session of the key,
        not the old decline replayed."""
        key = self.operation_key
        if key is None:
            return str(uuid.uuid4())
        sid, attempt = session_id_for(self.config.id, operation, key), 1
        while (self.ledger.get(sid) or {}).get("answered"):
            attempt += 1
            sid = session_id_for(self.config.id, operation, f"{key}\n{attempt}")
        return sid

    # -- one transaction --------------------------------------------------------------------------
    async def _transact(self, request: Request, extra: dict[str, Any] | None = None) -> r.CardResult:
        """Run ``request``'s session to its outcome, exactly once; the approved result or the mapped error."""
        sid = request.session_id
        rec = self.ledger.get(sid)
        if rec is not None and rec["state"] in ("approved", "failed"):
            if rec["state"] == "failed" and not rec.get("answered"):
                await self._save(sid, {**rec, "answered": True})
            return self._outcome(rec)  # this session already ended: its outcome, never a second request
        if rec is not None and rec["state"] == "sent":
            try:
                session = await self.api.session(sid)
            except NotFound:
                session = None
                await self._send(request, rec)  # stored, but it never reached the terminal
            except (Unreachable, AuthFailed, Refused) as exc:
                raise self._unreachable(exc, sid) from None
            if session is not None:
                return self._outcome(await self._settle(sid, rec, session, answered=True))
        else:
            rec = {"kind": request.kind, "amount": request.amount, "currency_code": request.currency_code,
                   "reference": request.reference, "parent": request.parent_session_id, "state": "sent",
                   "created": _now(), **(extra or {})}
            await self._save(sid, rec)  # durable before the request leaves
            await self._send(request, rec)
        return self._outcome(await self._settle(sid, rec, await self._poll(request), answered=True))

    async def _send(self, request: Request, rec: dict[str, Any]) -> None:
        sid = request.session_id
        try:
            await self.api.start(request)
        except Unreachable as exc:
            if not exc.sent:  # refused at connect: the terminal never saw it, nothing can be charged
                await self._save(sid, {**rec, "state": "not_started"})
                self.set_status(StatusInfo(DeviceStatus.DISCONNECTED, FiscalError(Code.CONNECTION, exc.detail)))
                raise FiscalError(Code.CONNECTION, exc.detail, {"session_id": sid}) from None
            # the answer was lost: the session may have started; polling tells
        except AuthFailed as exc:
            await self._save(sid, {**rec, "state": "not_started"})
            raise FiscalError(Code.CONFIG, f"connection_details.details.client_secret: {exc}") from None
        except Refused as exc:
            await self._save(sid, {**rec, "state": "not_started"})
            details = {"session_id": sid, "http_status": exc.status, "answer": exc.body}
            if exc.status == 409:  # another session is in progress on the terminal
                raise FiscalError(Code.DEVICE_BUSY, "the terminal is busy with another transaction",
                                  details) from None
            raise FiscalError(Code.POS, f"the terminal refused the request (HTTP {exc.status})", details) from None
        self.set_status(StatusInfo(DeviceStatus.CONNECTED))

    async def _poll(self, request: Request) -> dict[str, Any]:
        """Poll the session until it has an outcome (re-sending the request if the terminal never got it)."""
        sid = request.session_id
        deadline = time.monotonic() + MAX_WAIT_S
        answered = time.monotonic()  # when the terminal last answered
        delay, resent = 0.05, 0
        while True:
            try:
                session = await self.api.session(sid)
                answered = time.monotonic()
            except NotFound:
                answered = time.monotonic()
                if resent >= 3:
                    raise FiscalError(Code.POS, "the terminal does not know the session it was sent",
                                      {"session_id": sid}) from None
                resent += 1
                session = None
                try:
                    await self.api.start(request)  # the same session id: the terminal starts it at most once
                except Unreachable:
                    pass
                except (Refused, AuthFailed) as exc:
                    raise self._unreachable(exc, sid) from None
            except Unreachable as exc:
                if time.monotonic() >= min(deadline, answered + UNREACHABLE_S):
                    raise self._unreachable(exc, sid) from None
                session = None
            except (AuthFailed, Refused) as exc:
                raise self._unreachable(exc, sid) from None
            if session is not None:
                return session
            if time.monotonic() >= deadline:
                raise FiscalError(Code.POS_TIMEOUT, f"no outcome within {MAX_WAIT_S:.0f} s; pos_status resolves "
                                                    "it later", {"session_id": sid, "state": "in_progress"})
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 1.0)

    def _unreachable(self, exc: Exception, sid: str) -> FiscalError:
        """The outcome of a started session could not be read: it stays in the ledger for pos_status."""
        details = {"session_id": sid, "state": "unknown"}
        if isinstance(exc, Unreachable):
            self.set_status(StatusInfo(DeviceStatus.DISCONNECTED, FiscalError(Code.CONNECTION, exc.detail)))
            return FiscalError(Code.POS_TIMEOUT, f"the terminal stopped answering ({exc.detail}); the outcome is "
                                                 "resolved by pos_status or a retry with the same key", details)
        if isinstance(exc, Refused):
            return FiscalError(Code.POS, f"the terminal answered HTTP {exc.status}", {**details, "answer": exc.body})
        return FiscalError(Code.CONFIG, f"connection_details.details.client_secret: {exc}", details)

    async def _settle(self, sid: str, rec: dict[str, Any], session: dict[str, Any],
                      answered: bool = False) -> dict[str, Any]:
        """Record the session's final answer and journal it, in one store transaction. ``answered``: the outcome
        goes to the caller that asked for this session now (a failure then frees its key for a new attempt)."""
        when = str(session.get("transactionDateTime") or _now())
        kind = rec.get("as", rec["kind"])
        if session.get("success") is True:
            result: r.CardResult = {
                "approved": True, "transaction_id": sid,
                "auth_code": str(session.get("authorizationId") or ""),
                "rrn": str(session.get("retrievalReferenceNumber") or session.get("referenceNumber") or ""),
                "card_masked": str(session.get("primaryAccountNumberMasked") or ""),
                "card_brand": str(session.get("applicationLabel") or ""),
                "amount_cents": int(session.get("amount", rec["amount"])),
                "terminal_id": str(session.get("terminalId") or self.api.terminal_id), "datetime": when,
            }
            done = {**rec, "state": "approved", "result": dict(result),
                    "viva_transaction_id": session.get("transactionId")}
            also = {}
            target = rec.get("voids")
            if target is not None and target in self.ledger:
                also[target] = {**self.ledger[target], "voided_by": sid}
            title = TITLES["void" if kind == "void" else rec["kind"]]

            def approved(number: int) -> dict[str, Any]:
                data = {**result, "number": number, "type": kind, "session_id": sid,
                        "viva_transaction_id": session.get("transactionId"), "parent_session_id": rec.get("parent")}
                return {"kind": f"pos_{'void' if kind == 'void' else 'sale' if kind == 'sale' else 'refund'}",
                        "number": number, "fiscal_day": 0, "datetime": when, "total_cents": result["amount_cents"],
                        "text": self._slip(title, result, "APROBAT"), "data": data}

            await self._save(sid, done, approved, also)
            return done
        code = failure_code(session)
        error = {"code": int(code), "session_id": sid, "event_id": session.get("eventId"),
                 "message": session.get("message"),
                 "abort_operation": session.get("abortOperation"), "abort_success": session.get("abortSuccess")}
        done = {**rec, "state": "failed", "error": error, "answered": answered}

        def failed(number: int) -> dict[str, Any]:
            return {"kind": "pos_failed", "number": number, "fiscal_day": 0, "datetime": when,
                    "total_cents": rec["amount"], "text": f"{TITLES.get(kind, kind)} RESPINS: {error['message']}",
                    "data": {**error, "type": kind, "session_id": sid, "amount_cents": rec["amount"]}}

        await self._save(sid, done, failed)
        return done

    @staticmethod
    def _outcome(rec: dict[str, Any]) -> r.CardResult:
        if rec["state"] == "approved":
            result: r.CardResult = rec["result"]
            return result
        error = rec.get("error") or {}
        raise FiscalError(Code(error.get("code", int(Code.POS))), str(error.get("message") or "not approved"),
                          {"session_id": error.get("session_id"), "event_id": error.get("event_id"),
                           "message": error.get("message"),
                           "abort_operation": error.get("abort_operation"),
                           "abort_success": error.get("abort_success")})

    def _slip(self, title: str, result: r.CardResult, closing: str) -> str:
        p = Printout()
        p.center(self.config.name)
        p.center(f"TERMINAL {result['terminal_id']}")
        p.rule()
        p.center(title)
        for left, right in (("CARD", f"{result['card_brand']} {result['card_masked'][-4:]}"),
                            ("SUMA", money(result["amount_cents"])), ("AUTORIZARE", result["auth_code"]),
                            ("RRN", result["rrn"]), ("SESIUNE", result["transaction_id"][:18])):
            p.pair(left, right)
        p.rule()
        p.left(result["datetime"].replace("T", " ")[:19])
        p.center(closing)
        return p.text()

    # -- operations -------------------------------------------------------------------------------
    @staticmethod
    def _currency(code: str) -> str:
        numeric = CURRENCIES.get(code)
        if numeric is None:
            raise FiscalError(Code.CONFIG, f"params.currency: {code} is not one of {', '.join(CURRENCIES)}")
        return numeric

    async def pos_sale(self, params: m.PosSaleParams) -> r.CardResult:
        sid = self._session_id("pos_sale")
        return await self._transact(Request("sale", sid, params.amount_cents, self._currency(params.currency),
                                            params.reference or sid))

    async def _approved_sale(self, transaction_id: str, field_name: str) -> dict[str, Any]:
        """The approved sale ``transaction_id`` (from the ledger, else as the terminal remembers it)."""
        rec = self.ledger.get(transaction_id)
        if rec is None:
            try:
                uuid.UUID(transaction_id)
                session = await self.api.session(transaction_id)
            except (ValueError, NotFound):
                session = None
            except (Unreachable, AuthFailed, Refused) as exc:
                raise self._unreachable(exc, transaction_id) from None
            if session is not None and session.get("success") is True:
                rec = {"kind": "sale", "amount": int(session.get("amount", 0)), "state": "approved",
                       "currency_code": str(session.get("currencyCode", ""))}
        if rec is None or rec["kind"] != "sale" or rec["state"] not in ("approved", "sent"):
            raise FiscalError(Code.CONFIG, f"params.{field_name}: no approved sale {transaction_id} on this "
                                           "terminal")
        return rec

    async def pos_refund(self, params: m.PosRefundParams) -> r.CardResult:
        sid = self._session_id("pos_refund")
        currency = self._currency(params.currency)
        if params.original_transaction_id == UNREFERENCED:
            if not self.api.unreferenced_refund:
                raise FiscalError(Code.NOT_SUPPORTED, "pos_refund: the ISV variant of Viva's Cloud Terminal API "
                                                      "offers no unreferenced refund; refund a sale by its "
                                                      "transaction id")
            return await self._transact(Request("unreferenced-refund", sid, params.amount_cents, currency, sid))
        original = await self._approved_sale(params.original_transaction_id, "original_transaction_id")
        if original["state"] != "approved" or original.get("voided_by"):
            raise FiscalError(Code.CONFIG, f"params.original_transaction_id: {params.original_transaction_id} is "
                                           "not an approved, unvoided sale")
        if params.amount_cents > original["amount"]:
            raise FiscalError(Code.CONFIG, f"params.amount_cents: {params.amount_cents} exceeds the original sale "
                                           f"of {original['amount']}")
        return await self._transact(Request("refund", sid, params.amount_cents, currency, sid,
                                            params.original_transaction_id))

    async def pos_void(self, params: m.PosVoidParams) -> r.CardResult:
        target_id = params.transaction_id
        target = await self._approved_sale(target_id, "transaction_id")
        if target["state"] == "sent":
            target = await self._abort(target_id, target)
            if target["state"] != "approved":  # aborted before the card was read: nothing was charged
                return {"approved": True, "transaction_id": target_id, "auth_code": "", "rrn": "",
                        "card_masked": "", "card_brand": "", "amount_cents": target["amount"],
                        "terminal_id": self.api.terminal_id, "datetime": _now()}
        # a completed sale is voided by refunding it in full, once: a void already approved answers again, one
        # whose outcome is still open is resumed, and only after a failed one may a new one start
        earlier = [(sid, rec) for sid, rec in self.ledger.items() if rec.get("voids") == target_id]
        for rec in (rec for _, rec in earlier if rec["state"] == "approved"):
            return self._outcome(rec)
        pending = [sid for sid, rec in earlier if rec["state"] == "sent"]
        sid = pending[0] if pending else self._session_id("pos_void")
        return await self._transact(Request("refund", sid, target["amount"], target["currency_code"], sid,
                                            target_id), {"as": "void", "voids": target_id})

    async def _abort(self, sid: str, rec: dict[str, Any]) -> dict[str, Any]:
        """Abort a session still in progress; its final state (approved when the card was already read)."""
        try:
            await self.api.abort(sid)
        except NotFound:
            return await self._save_gone(sid, rec)
        except Refused:
            pass  # too late to abort (card read): the session ends on its own
        except (Unreachable, AuthFailed) as exc:
            raise self._unreachable(exc, sid) from None
        request = Request(rec["kind"], sid, rec["amount"], rec["currency_code"], rec["reference"], rec.get("parent"))
        try:
            session = await self.api.session(sid)
        except NotFound:
            return await self._save_gone(sid, rec)
        except (Unreachable, AuthFailed, Refused) as exc:
            raise self._unreachable(exc, sid) from None
        return await self._settle(sid, rec, session if session is not None else await self._poll(request))

    async def _save_gone(self, sid: str, rec: dict[str, Any]) -> dict[str, Any]:
        done = {**rec, "state": "not_started"}
        await self._save(sid, done)
        return done

    async def pos_settlement(self, params: m.NoParams) -> r.SettlementResult:
        raise FiscalError(Code.NOT_SUPPORTED, "pos_settlement: a Viva.com terminal closes its own batch (end of "
                                              "day on the terminal or in Viva's back office); neither the Local nor "
                                              "the Cloud Terminal API offers a settlement call")

    async def pos_status(self, params: m.NoParams) -> r.PosStatusResult:
        await self._check()
        if self.status.status == DeviceStatus.CONNECTED:
            await self._resolve_pending()
        today = dt.date.today().isoformat()
        open_count = sum(1 for rec in self.ledger.values()
                         if rec["state"] == "approved" and rec.get("as") != "void" and not rec.get("voided_by")
                         and str(rec.get("result", {}).get("datetime", "")).startswith(today))
        return {"status": self.status.status.value, "status_text": self.status.text(self.ctx.language()),
                "terminal_id": self.api.terminal_id, "batch_open_count": open_count}
