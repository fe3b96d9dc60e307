"""Scripted scenarios on one Simulated register: paper out mid-day, a lost connection, Z after 24 h, memory full.
Each checks that the register stays consistent: continuous numbering, totals of exactly the receipts that
printed, no receipt left open."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sim_client import Sim, item, pay

from server import Server, add_simulated_register


@pytest.fixture()
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sim, str]]:
    data = tmp_path_factory.mktemp("scenario")
    device = add_simulated_register(data, "Scenario")
    srv = Server(data, demo=False).start()
    client = Sim(srv)
    yield client, device
    client.close()
    srv.stop()


def test_a_day_with_paper_out_and_a_lost_connection(sim: tuple[Sim, str]) -> None:
    s, dev = sim
    numbers = [s.receipt(dev, pay("cash", 1000)).json()["result"]["receipt_number"] for _ in range(3)]
    # paper runs out mid-day: the cashier's next receipt fails, nothing is recorded
    s.simulate(dev, fault="paper_out")
    assert s.device(dev)["status"] == "Error"
    assert s.fails(dev, "print_receipt", {"lines": [item(price=999)]}) == 2001
    assert s.fails(dev, "x_report") == 2001
    assert s.ok(dev, "get_status")["receipt_open"] is False
    s.simulate(dev, fault="none")  # paper replaced
    numbers.append(s.receipt(dev, pay("card", 1000)).json()["result"]["receipt_number"])
    # the cable is pulled: status Disconnected, every operation 1004 (HTTP 503), even get_status
    s.simulate(dev, fault="disconnected")
    assert s.device(dev)["status"] == "Disconnected"
    r = s.receipt(dev)
    assert r.status_code == 503 and r.json()["status"] == 1004
    assert s.fails(dev, "get_status") == 1004
    s.simulate(dev, fault="none")  # reconnected
    assert s.device(dev)["status"] == "Connected"
    numbers.append(s.receipt(dev, pay("cash", 2000), price=1500).json()["result"]["receipt_number"])
    assert numbers == list(range(numbers[0], numbers[0] + 5))  # no gap, no duplicate
    x = s.ok(dev, "x_report")
    assert x["receipts_count"] == 5 and x["total_cents"] == 5500
    assert x["payments"] == {"cash": 4500, "card": 1000}
    z = s.ok(dev, "z_report")
    assert z["total_cents"] == 5500 and z["z_number"] == 1


def test_z_required_after_24_hours(sim: tuple[Sim, str]) -> None:
    s, dev = sim
    first = s.receipt(dev).json()["result"]
    later = dt.datetime.fromisoformat(first["datetime"]) + dt.timedelta(hours=24, minutes=1)
    s.ok(dev, "set_datetime", {"datetime": later.isoformat()})
    assert s.fails(dev, "print_receipt", {"lines": [item()]}) == 2006
    assert s.fails(dev, "cash_in", {"amount_cents": 100}) == 2006
    assert s.ok(dev, "x_report")["receipts_count"] == 1  # reports still work
    z = s.ok(dev, "z_report")
    assert z["fiscal_day"] == first["fiscal_day"] and z["receipts_count"] == 1
    nxt = s.receipt(dev).json()["result"]
    assert nxt["fiscal_day"] == first["fiscal_day"] + 1 and nxt["receipt_number"] == first["receipt_number"] + 1


def test_fiscal_memory_full(sim: tuple[Sim, str]) -> None:
    s, dev = sim
    s.receipt(dev, price=300)
    s.simulate(dev, fault="fiscal_memory_full")
    view = s.device(dev)
    assert view["status"] == "Error" and "Memoria fiscală este plină" in view["status_text"]
    for name, params in (("print_receipt", {"lines": [item()]}), ("z_report", None),
                         ("cash_in", {"amount_cents": 100})):
        assert s.fails(dev, name, params) == 2007
    # what needs no fiscal memory keeps working: reports, non-fiscal documents, the journal
    assert s.ok(dev, "x_report")["total_cents"] == 300
    s.ok(dev, "print_non_fiscal", {"lines": [{"type": "text", "text": "Service"}]})
    assert s.ok(dev, "read_journal", {"from_receipt": 1})["count"] == 1
    s.simulate(dev, fault="none")
    assert s.ok(dev, "z_report")["total_cents"] == 300


def test_busy_device_is_retryable(sim: tuple[Sim, str]) -> None:
    s, dev = sim
    s.simulate(dev, fault="busy")
    r = s.receipt(dev)
    assert r.json()["status"] == 2013 and r.json()["retryable"] is True
    assert s.ok(dev, "get_status")["status"] == "Connected"
    s.simulate(dev, fault="none")
    assert s.receipt(dev).status_code == 200
