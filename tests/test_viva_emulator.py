"""The Viva terminal emulator on its own, spoken to as Viva documents its APIs (sources in
src/fiscald/emulators/viva.py): sessions keyed by id, PROCESSING/202 then the outcome, abort only before the
card is read, busy, tokens, its control port, and its charge ledger surviving a restart."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from viva_harness import EmulatedTerminal

from fiscald.emulators.viva import CLIENT_ID, CLIENT_SECRET, TERMINAL_ID, loopback_host


@pytest.fixture()
def term(tmp_path: Path) -> Iterator[EmulatedTerminal]:
    t = EmulatedTerminal(tmp_path / "t", card_delay_ms=400).start()
    yield t
    t.stop()


def token(url: str, secret: str = CLIENT_SECRET) -> httpx.Response:
    return httpx.post(f"{url}/connect/token", data={"grant_type": "client_credentials"},
                      auth=(CLIENT_ID, secret))


def odoo_sale(session_id: str, amount: int = 1170) -> dict[str, Any]:
    """The sale body as odoo/odoo addons/pos_viva_com/static/src/app/payment_viva_com.js builds it."""
    return {"sessionId": session_id, "terminalId": TERMINAL_ID, "cashRegisterId": "Mitchell Admin",
            "amount": amount, "currencyCode": "978", "merchantReference": f"{session_id}/1",
            "customerTrns": " ", "preauth": False, "maxInstalments": 0, "tipAmount": 0}


def test_cloud_session_is_202_then_the_outcome_and_idempotent(term: EmulatedTerminal) -> None:
    bearer = {"Authorization": f"Bearer {token(term.url).json()['access_token']}"}
    sid = str(uuid.uuid4())
    first = httpx.post(f"{term.url}/ecr/v1/transactions:sale", json=odoo_sale(sid), headers=bearer)
    assert first.status_code == 200
    again = httpx.post(f"{term.url}/ecr/v1/transactions:sale", json=odoo_sale(sid), headers=bearer)
    assert again.status_code == 200  # the same session, not a second one
    assert httpx.get(f"{term.url}/ecr/v1/sessions/{sid}", headers=bearer).status_code == 202
    deadline = time.monotonic() + 10  # the card delay is 400 ms; a loaded machine may take longer to answer
    done = httpx.get(f"{term.url}/ecr/v1/sessions/{sid}", headers=bearer)
    while done.status_code == 202 and time.monotonic() < deadline:
        time.sleep(0.05)
        done = httpx.get(f"{term.url}/ecr/v1/sessions/{sid}", headers=bearer)
    assert done.status_code == 200
    body = done.json()
    assert body["sessionId"] == sid and body["success"] is True and body["amount"] == 1170
    assert body["transactionId"] and body["applicationLabel"] == "VISA"  # what Odoo's client reads
    assert len(term.charges()) == 1
    assert httpx.get(f"{term.url}/ecr/v1/sessions/{uuid.uuid4()}", headers=bearer).status_code == 404


def test_cloud_tokens(term: EmulatedTerminal) -> None:
    assert token(term.url, "wrong").json() == {"error": "invalid_client"}
    r = httpx.get(f"{term.url}/ecr/v1/sessions/{uuid.uuid4()}")
    assert r.status_code == 401 and r.json() == {"detail": "Could not validate credentials"}
    bearer = {"Authorization": f"Bearer {token(term.url).json()['access_token']}"}
    term.simulate(expire_tokens=True)
    assert httpx.get(f"{term.url}/ecr/v1/sessions/{uuid.uuid4()}", headers=bearer).status_code == 401


def test_local_processing_abort_and_busy(term: EmulatedTerminal) -> None:
    term.simulate(card_delay_ms=30_000)  # the card is not read before the abort, however slow the machine
    sid = str(uuid.uuid4())
    r = httpx.post(f"{term.url}/pos/v1/transactions:sale", json={"sessionId": sid, "amount": 500,
                                                                  "currencyCode": "946"})
    assert r.json() == {"sessionId": sid, "state": "PROCESSING"}
    busy = httpx.post(f"{term.url}/pos/v1/transactions:sale", json={"sessionId": str(uuid.uuid4()), "amount": 1,
                                                                     "currencyCode": "946"})
    assert busy.status_code == 409
    assert httpx.post(f"{term.url}/pos/v1/transactions:abort", json={"sessionId": sid}).status_code == 200
    aborted = httpx.get(f"{term.url}/pos/v1/sessions/{sid}").json()
    assert aborted["success"] is False and aborted["abortOperation"] is True and aborted["abortSuccess"] is True
    term.simulate(card_delay_ms=100)
    late = str(uuid.uuid4())
    httpx.post(f"{term.url}/pos/v1/transactions:sale", json={"sessionId": late, "amount": 500, "currencyCode": "946"})
    time.sleep(0.3)  # the card is read
    assert httpx.post(f"{term.url}/pos/v1/transactions:abort", json={"sessionId": late}).status_code == 400
    assert httpx.get(f"{term.url}/pos/v1/sessions/{late}").json()["success"] is True
    assert [c["session_id"] for c in term.charges()] == [late]


def test_control_port(term: EmulatedTerminal) -> None:
    url = f"http://127.0.0.1:{term.control_port}/simulate"
    assert httpx.post(url, json={"offline": True}, headers={"Host": "evil.example"}).status_code == 403
    assert httpx.post(url, json={"nonsense": 1}).status_code == 400
    assert httpx.post(url, json={"card_delay_ms": "fast"}).status_code == 400
    assert term.simulate(offline=True)["offline"] is True
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{term.url}/pos/v1/sessions/{uuid.uuid4()}")
    term.simulate(offline=False)
    assert httpx.get(f"{term.url}/pos/v1/sessions/{uuid.uuid4()}").status_code == 404


def test_charges_survive_a_restart(tmp_path: Path) -> None:
    first = EmulatedTerminal(tmp_path / "t", card_delay_ms=0).start()
    sid = str(uuid.uuid4())
    httpx.post(f"{first.url}/pos/v1/transactions:sale", json={"sessionId": sid, "amount": 700, "currencyCode": "946"})
    assert httpx.get(f"{first.url}/pos/v1/sessions/{sid}").json()["success"] is True
    first.stop()
    second = EmulatedTerminal(tmp_path / "t").start()
    try:
        assert [c["amount"] for c in second.charges()] == [700]
        assert httpx.get(f"{second.url}/pos/v1/sessions/{sid}").json()["success"] is True
    finally:
        second.stop()


def test_cloud_takes_the_documented_example_body(term: EmulatedTerminal) -> None:
    """The sale example of ciramconsulting/VivaTerminalRelayServer README.md (Viva's EFT POS API example):
    terminalId and currencyCode as numbers."""
    term.simulate(card_delay_ms=30_000)  # still waiting for the card when the cancel comes
    bearer = {"Authorization": f"Bearer {token(term.url).json()['access_token']}"}
    sid = "4bdebe62-c211-4ca0-a994-b2fbea2061c5"
    body = {"sessionId": sid, "terminalId": 16000010, "cashRegisterId": "XDE384678UY", "amount": 1170,
            "currencyCode": 978, "merchantReference": "some-reference", "customerTrns": "some-reference",
            "preauth": False, "maxInstalments": 0, "tipAmount": 0}
    assert httpx.post(f"{term.url}/ecr/v1/transactions:sale", json=body, headers=bearer).status_code == 200
    cancel = httpx.delete(f"{term.url}/ecr/v1/sessions/{sid}", params={"cashRegisterId": "XDE384678UY"},
                          headers=bearer)
    assert cancel.status_code == 200  # Odoo's cancel: DELETE sessions/{id}?cashRegisterId=...
    assert httpx.get(f"{term.url}/ecr/v1/sessions/{sid}", headers=bearer).json()["abortSuccess"] is True


@pytest.mark.parametrize(("header", "allowed"), [
    (None, True), ("localhost", True), ("localhost:8081", True), ("127.0.0.1:8081", True), ("[::1]:8081", True),
    ("127.9.9.9", True), ("evil.example", False), ("127.0.0.1.nip.io:8081", False), ("10.0.0.1:8081", False),
    ("[::1", False), ("", False)])
def test_control_host_check(header: str | None, allowed: bool) -> None:
    assert loopback_host(header) is allowed
