"""The VivaWallet terminal through the WebSocket API and a card-paid INP receipt, against a real server process
and the Viva emulator (Cloud Terminal API): the same results as over HTTP, one charge each."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from viva_harness import EmulatedTerminal
from wsclient import ws_client

from fiscald.app import open_database
from fiscald.models.config import ConnectionDetails, PosConfig
from fiscald.store import devices as device_repo
from inpfiles import inp, run
from server import Server, add_simulated_register


@dataclass
class Env:
    srv: Server
    term: EmulatedTerminal
    pos: str
    register: str
    folder: Path


@pytest.fixture()
def env(tmp_path: Path) -> Iterator[Env]:
    term = EmulatedTerminal(tmp_path / "terminal").start()
    data = tmp_path / "data"
    data.mkdir()
    db = open_database(data)
    try:
        config = PosConfig(id=str(uuid.uuid4()), name="Viva", manufacturer="VivaWallet", model="Q30",
                           connection_details=ConnectionDetails.model_validate(term.connection("cloud")))
        db.write_sync(lambda conn: device_repo.save_device(conn, config))
    finally:
        db.close()
    folder = tmp_path / "inp"
    folder.mkdir()
    register = add_simulated_register(data, "Casa", scan_folder=str(folder), auto_send_card_to_pos=True,
                                      linked_pos_device_id=config.id)
    srv = Server(data, demo=False).start()
    yield Env(srv, term, config.id, register, folder)
    srv.stop()
    term.stop()


def test_pos_operations_over_websocket(env: Env) -> None:
    async def go() -> None:
        async with ws_client(env.srv.url) as c:
            sale = await c.request("operation.execute", {"device_id": env.pos, "operation": "pos_sale",
                                                         "params": {"amount_cents": 1800}, "idempotency_key": "w1"})
            assert sale["status"] == 200, sale
            tx = sale["payload"]["result"]
            assert tx["approved"] is True and tx["amount_cents"] == 1800
            again = await c.request("operation.execute", {"device_id": env.pos, "operation": "pos_sale",
                                                          "params": {"amount_cents": 1800},
                                                          "idempotency_key": "w1"})
            assert again["payload"]["result"] == tx and again["replayed"] is True
            void = await c.request("operation.execute", {"device_id": env.pos, "operation": "pos_void",
                                                         "params": {"transaction_id": tx["transaction_id"]}})
            assert void["status"] == 200 and void["payload"]["result"]["amount_cents"] == 1800
            env.term.simulate(decline_next=True)
            declined = await c.request("operation.execute", {"device_id": env.pos, "operation": "pos_sale",
                                                             "params": {"amount_cents": 50}})
            assert declined["status"] == 3001 and declined["action"] == "operation.execute.error"
            settle = await c.request("operation.execute", {"device_id": env.pos, "operation": "pos_settlement"})
            assert settle["status"] == 1012

    asyncio.run(go())
    assert [(c["kind"], c["amount"]) for c in env.term.charges()] == [("sale", 1800), ("refund", 1800)]


def test_card_paid_inp_receipt(env: Env) -> None:
    answer = run(env.folder, "card.inp", inp("S;Cafea;12.50;1.000", "T;1;12.50"))
    assert answer["status"] == "OK" and answer["paid"] == "12.50", answer
    assert [(c["kind"], c["amount"]) for c in env.term.charges()] == [("sale", 1250)]
    env.term.simulate(decline_next=True)
    refused = run(env.folder, "declined.inp", inp("S;Cafea;3.00;1.000", "T;1;3.00"))
    assert refused["status"] == "ERROR" and refused["code"] == "3001", refused
    assert [c["amount"] for c in env.term.charges()] == [1250]
