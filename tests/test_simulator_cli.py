"""The command line: `fiscald simulate set|show|clear` against a running server, `fiscald journal export|verify`
on a data dir (including a journal tampered with sqlite3)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sim_client import Sim, item
from typer.testing import CliRunner

from fiscald.cli import cli
from fiscald.store import journal
from server import Server, add_simulated_register

runner = CliRunner()


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sim, str]]:
    data = tmp_path_factory.mktemp("cli")
    device = add_simulated_register(data, "Cli")
    srv = Server(data, demo=False).start()
    client = Sim(srv)
    yield client, device
    client.close()
    srv.stop()


def test_cli_simulate_set_show_clear(sim: tuple[Sim, str]) -> None:
    s, dev = sim
    url = ["--url", s.srv.url]
    out = runner.invoke(cli, ["simulate", "set", dev, "--fault", "cover_open", "--latency-ms", "1", "--jitter-ms",
                              "2", "--seed", "9", "--fail-next", "z_report:2003:after_print", *url])
    assert out.exit_code == 0, out.output
    answer = json.loads(out.stdout)
    assert answer["status"] == "Error" and answer["simulation"] == {
        "fault": "cover_open", "latency_ms": 1, "latency_jitter_ms": 2, "seed": 9,
        "fail_next": {"operation": "z_report", "code": 2003, "at": "after_print"}}
    assert s.fails(dev, "print_receipt", {"lines": [item()]}) == 2002
    shown = json.loads(runner.invoke(cli, ["simulate", "show", dev, *url]).stdout)
    assert shown["simulation"] == answer["simulation"]
    out = runner.invoke(cli, ["simulate", "set", dev, "--fault", "decline", *url])
    assert out.exit_code == 1 and json.loads(out.stdout)["status"] == 400
    assert runner.invoke(cli, ["simulate", "set", dev, "--fail-next", "z_report", *url]).exit_code == 2
    wrong = runner.invoke(cli, ["simulate", "set", dev, "--fail-next", "z_raport:2001", *url])
    assert wrong.exit_code == 1 and "did you mean z_report? operations: " in json.loads(wrong.stdout)["error"]
    cleared = json.loads(runner.invoke(cli, ["simulate", "clear", dev, *url]).stdout)
    assert cleared["status"] == "Connected" and cleared["simulation"]["fail_next"] is None
    assert cleared["simulation"]["latency_ms"] == 0 and cleared["simulation"]["seed"] == 9
    assert runner.invoke(cli, ["simulate", "show", dev, "--url", "http://127.0.0.1:9"]).exit_code == 2


def test_cli_journal_export_and_verify(make_server: Callable[..., Server], tmp_path: Path) -> None:
    data = tmp_path / "journal"
    dev = add_simulated_register(data, "Verified")
    other = add_simulated_register(data, "Other")
    srv = make_server(data, demo=False)
    s = Sim(srv)
    for price in (100, 200, 300):
        s.receipt(dev, price=price)
    s.receipt(other)
    s.ok(dev, "z_report")
    csv_http = s.http.get(f"/devices/{dev}/journal", params={"format": "csv", "kind": "receipt"}).text
    s.close()
    srv.stop()
    out = runner.invoke(cli, ["journal", "export", dev, "--data-dir", str(data), "--format", "csv", "--kind",
                              "receipt"])
    assert out.exit_code == 0 and out.stdout == csv_http  # the same document as over HTTP
    target = tmp_path / "z.json"
    out = runner.invoke(cli, ["journal", "export", dev, "--data-dir", str(data), "--reports", "-o", str(target)])
    assert out.exit_code == 0 and json.loads(target.read_text(encoding="utf-8"))["reports"][0]["total_cents"] == 600
    for wrong in (["--from", "soon"], ["--kind", "bill"]):
        assert runner.invoke(cli, ["journal", "export", dev, "--data-dir", str(data), *wrong]).exit_code == 2
    unknown = runner.invoke(cli, ["journal", "export", str(uuid.uuid4()), "--data-dir", str(data)])
    assert unknown.exit_code == 2 and unknown.stdout == ""
    verify = runner.invoke(cli, ["journal", "verify", "--data-dir", str(data)])
    assert verify.exit_code == 0 and f"{dev}: OK, 4 entries" in verify.stdout and f"{other}: OK" in verify.stdout
    # tamper with the database the way a person with sqlite3 would
    with sqlite3.connect(data / "fiscald.db") as conn:
        conn.execute("UPDATE journal SET total_cents = 1 WHERE device_id = ? AND seq = 2", (dev,))
    verify = runner.invoke(cli, ["journal", "verify", dev, "--data-dir", str(data)])
    assert verify.exit_code == 1 and "BROKEN at seq 2" in verify.stdout and "content altered" in verify.stdout
    assert "1 entries before it are intact" in verify.stdout
    with sqlite3.connect(data / "fiscald.db") as conn:  # forge the entry's own hash too: the link breaks
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM journal WHERE device_id = ? AND seq = 2", (dev,)).fetchone()
        forged = journal.entry_hash(row["prev_hash"], 2, row["kind"], row["number"], row["fiscal_day"],
                                    row["datetime"], 1, row["text"], json.loads(row["data"]))
        conn.execute("UPDATE journal SET hash = ? WHERE id = ?", (forged, row["id"]))
    verify = runner.invoke(cli, ["journal", "verify", dev, "--data-dir", str(data)])
    assert verify.exit_code == 1 and "BROKEN at seq 3" in verify.stdout and "chain broken" in verify.stdout
    with sqlite3.connect(data / "fiscald.db") as conn:
        conn.execute("DELETE FROM journal WHERE device_id = ? AND seq = 1", (dev,))
    verify = runner.invoke(cli, ["journal", "verify", "--data-dir", str(data)])
    assert verify.exit_code == 1 and "BROKEN at seq 2" in verify.stdout and "sequence gap" in verify.stdout
    assert f"{other}: OK" in verify.stdout
    assert runner.invoke(cli, ["journal", "verify", "--data-dir", str(tmp_path / "none")]).exit_code == 2
