"""The INP file interface end to end (shared/spec/inp.md, docs/inp.md): a real server watching a real folder."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fiscald.interfaces.inp.results import numbered
from inpfiles import HDR, answer, drop, inp, inp_state, receipts, run, set_settings, wait_resolved, wait_state
from server import Server, add_simulated_register

MiB = 1024 * 1024


@dataclass(frozen=True)
class Env:
    url: str
    device_id: str
    folder: Path
    root: Path


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("inp")
    folder = root / "scan"
    folder.mkdir()
    device_id = add_simulated_register(root / "data", "INP", scan_folder=str(folder))
    srv = Server(root / "data", demo=False).start()
    wait_state(srv.url, device_id, "watching")
    yield Env(srv.url, device_id, folder, root)
    srv.stop()


def descriptions(env: Env) -> list[str]:
    return [line["description"] for e in receipts(env.url, env.device_id)
            for line in e["data"]["request"]["lines"] if line["type"] == "item"]


def test_receipt_file_goes_to_bonok_with_its_answer(env: Env) -> None:
    text = inp("S,1,______,_,__;Coffee;2.50;1.000;1;1;1;0;0;buc", "T,1,______,_,__;0;2.50;;;;")
    a = run(env.folder, "spec.inp", text)
    assert list(a)[:6] == ["status", "operation", "receipt_number", "fiscal_day", "datetime", "total"]
    assert a["status"] == "OK" and a["operation"] == "print_receipt"
    assert a["total"] == "2.50" and a["paid"] == "2.50" and a["change"] == "0.00" and a["voided"] == "false"
    assert a["vat_totals_A_rate"] == "21.00" and a["vat_totals_A_base"] == "2.07" and a["vat_totals_A_vat"] == "0.43"
    assert (env.folder / "BonOK" / "spec.inp").read_text(encoding="utf-8") == text
    [entry] = [e for e in receipts(env.url, env.device_id) if e["number"] == int(a["receipt_number"])]
    assert entry["datetime"] == a["datetime"] and entry["fiscal_day"] == int(a["fiscal_day"])
    assert entry["data"]["request"]["lines"][0]["description"] == "Coffee"
    assert not (env.folder / "BonERR" / "spec.inp").exists()


def test_every_command_letter(env: Env) -> None:
    f = env.folder
    sale = run(f, "l-receipt.inp", inp(
        "H;", "K;RO18547290;SC Exemplu SRL;Str. Lunga 1", "S;Paine;4.00;2.000;1;1;2;0;0;buc", "C;1;10.00",
        "S;Lapte;6.50;2.000", "S;Lapte;6.50;-1.000", "P;Multumim;;De revedere", "Q;1;  Comentariu", "T;1;5.00", "T;",
    ))
    assert sale["status"] == "OK" and sale["total"] == "13.70" and sale["paid"] == "13.70"
    [entry] = [e for e in receipts(env.url, env.device_id) if e["number"] == int(sale["receipt_number"])]
    request = entry["data"]["request"]
    assert request["buyer"] == {"cif": "RO18547290", "name": "SC Exemplu SRL", "address": "Str. Lunga 1"}
    paine, lapte, storno = (line for line in request["lines"] if line["type"] == "item")
    assert paine["vat"] == "B" and paine["quantity_thousandths"] == 2000 and paine["unit_price_cents"] == 400
    assert paine["discount"] == {"kind": "percent", "basis_points": 1000, "is_surcharge": False}
    assert (lapte["quantity_thousandths"], storno["quantity_thousandths"]) == (2000, -1000)
    assert [t["text"] for t in request["lines"] if t["type"] == "text"] == ["Multumim", "De revedere", "  Comentariu"]
    assert request["payments"] == [{"type": "card", "amount_cents": 500}, {"type": "cash", "amount_cents": 870}]

    nf = run(f, "l-nonfiscal.inp", inp("Y;", "P;Linia 1;Linia 2", "Q;0;Linia 3", "T;"))
    assert nf["operation"] == "print_non_fiscal" and int(nf["document_number"]) > 0
    cash_in = run(f, "l-cashin.inp", inp("I;0;100.00"))
    cash_out = run(f, "l-cashout.inp", inp("I;1;30.00"))
    assert cash_in["operation"] == "cash_in" and cash_out["operation"] == "cash_out"
    assert int(cash_in["cash_in_drawer"].replace(".", "")) - int(cash_out["cash_in_drawer"].replace(".", "")) == 3000
    x = run(f, "l-x.inp", inp("X;"))
    assert x["operation"] == "x_report" and int(x["receipts_count"]) >= 1 and "z_number" not in x
    assert float(x["cash_in"]) >= 100 and float(x["payments_card"]) >= 5
    dup = run(f, "l-dup.inp", inp("D;"))
    assert dup["operation"] == "print_duplicate" and dup["receipt_number"] == sale["receipt_number"]
    assert "text" not in dup  # the printout is not key=value material
    cancel = run(f, "l-cancel.inp", inp("V;"))
    assert cancel["operation"] == "cancel_receipt" and cancel["cancelled"] == "false"
    z = run(f, "l-z.inp", inp("Z,1,______,_,__;;;;;;;"))
    assert z["operation"] == "z_report" and int(z["z_number"]) >= 1 and z["fiscal_day"] == sale["fiscal_day"]
    kinds = [e["kind"] for e in receipts_and_more(env)]
    for kind in ("non_fiscal", "cash_in", "cash_out", "x_report", "duplicate", "z_report"):
        assert kind in kinds


def receipts_and_more(env: Env) -> list[dict[str, Any]]:
    body = {"device_id": env.device_id, "operation": "read_journal", "params": {"limit": 10_000}}
    entries: list[dict[str, Any]] = httpx.post(env.url + "/devices/operation", json=body).json()["result"]["entries"]
    return entries


def test_a_parse_error_goes_to_bonerr_with_its_line_and_prints_nothing(env: Env) -> None:
    before = len(receipts(env.url, env.device_id))
    text = inp("S;Apa;3.00", "", "# a comment line counts too", "S;Suc;abc")
    a = run(env.folder, "bad-price.inp", text)
    assert a == {"status": "ERROR", "code": "400", "line": "4",
                 "message": "Cerere sau configurare invalidă: S: price 'abc' is not a number"}
    assert (env.folder / "BonERR" / "bad-price.inp").read_text(encoding="utf-8") == \
        text + f"# ERROR line 4: [400] {a['message']}\n"
    assert not (env.folder / "BonOK" / "bad-price.inp").exists()
    assert len(receipts(env.url, env.device_id)) == before


# (name, lines, code, line) — dropped together, resolved in parallel
MALFORMED = [
    ("m-letter.inp", ("S;Apa;3.00", "W,1,______,_,__;x"), 400, 2),
    ("m-vat-group.inp", ("S;Apa;3.00;1.000;1;1;9",), 400, 1),
    ("m-vat-rate.inp", ("S;Apa;1.00", "S;Apa;3.00;1.000;1;1;5"), 2008, 2),
    ("m-unpaid.inp", ("S;Apa;3.00", "S;Suc;4.00", "T;0;1.00"), 2009, 3),
    ("m-x-inside.inp", ("X;", "S;Apa;1.00", "X;"), 400, 3),
    ("m-header.inp", ("S,1,pass;Apa;1.00",), 400, 1),
    ("m-open-doc.inp", ("", "Y;", "P;text"), 400, 2),
    ("m-empty.inp", ("# nothing", ""), 400, 0),
    ("m-discount.inp", ("S;Apa;1.00", "C;3;2.00"), 400, 2),
]


def test_malformed_files_name_the_right_line(env: Env) -> None:
    for name, lines, _, _ in MALFORMED:
        drop(env.folder, name, inp(*lines))
    wait_resolved(env.folder, *(m[0] for m in MALFORMED))
    for name, _, code, line in MALFORMED:
        a = answer(env.folder, name)
        assert (a["status"], a["code"], a["line"]) == ("ERROR", str(code), str(line)), (name, a)
        assert (env.folder / "BonERR" / name).read_text(encoding="utf-8").endswith(
            f"# ERROR line {line}: [{code}] {a['message']}\n")


def test_windows_1250_crlf_file_keeps_its_encoding_and_line_ends(env: Env) -> None:
    data = f"S{HDR}P\u00e2ine;1.00\r\nZ{HDR}extra\r\n".encode("cp1250")
    a = run(env.folder, "cp1250.inp", data)
    assert a["line"] == "2" and "extra" in a["message"]
    comment = f"# ERROR line 2: [400] {a['message']}".encode("cp1250")
    assert (env.folder / "BonERR" / "cp1250.inp").read_bytes() == data + comment + b"\r\n"


def test_an_execution_error_goes_to_bonerr(env: Env) -> None:
    a = run(env.folder, "too-much-out.inp", inp("I;1;99999.00"))
    assert a["status"] == "ERROR" and a["code"] == "2012" and a["line"] == "1"
    assert a["message"].startswith("Suma scoasă depășește numerarul din sertar")
    assert "jobs" not in a and "operation" not in a


def test_a_file_that_partly_ran_lists_what_ran_and_names_the_failing_line(env: Env) -> None:
    text = inp("S;Ceai partial;5.00", "T;", "I;1;99999.00")
    a = run(env.folder, "partial.inp", text)
    assert a["status"] == "ERROR" and a["code"] == "2012" and a["line"] == "3"
    assert a["jobs"] == "2" and a["done"] == "1" and a["1.operation"] == "print_receipt" and a["1.total"] == "5.00"
    assert descriptions(env).count("Ceai partial") == 1
    assert (env.folder / "BonERR" / "partial.inp").read_text("utf-8").startswith(text + "# ERROR line 3: [2012]")


def test_a_file_refused_for_paper_out_prints_once_when_dropped_again(env: Env) -> None:
    """A failure that left nothing on the register frees the job's key: the same file dropped again after the
    paper was changed prints, once (docs/http.md, Idempotency-Key)."""
    text = inp("S;Hartie noua;3.00", "T;")

    def simulate(**body: Any) -> None:
        r = httpx.post(env.url + "/manage/simulate", json={"device_id": env.device_id, **body}, timeout=10)
        assert r.status_code == 200, r.text

    simulate(fault="paper_out")
    try:
        refused = run(env.folder, "paper.inp", text)
    finally:
        simulate(fault="none")
    assert refused["status"] == "ERROR" and refused["code"] == "2001"
    assert "Hartie noua" not in descriptions(env)
    drop(env.folder, "paper.inp", text)
    deadline = time.monotonic() + 10
    while not (env.folder / "BonANSWER" / "paper.1.inp").exists():  # the second answer of that name
        assert time.monotonic() < deadline, sorted(p.name for p in env.folder.iterdir())
        time.sleep(0.01)
    again = answer(env.folder, "paper.1.inp")
    assert again["status"] == "OK" and again["operation"] == "print_receipt"
    assert descriptions(env).count("Hartie noua") == 1


def test_the_same_name_again_is_a_new_file_and_never_overwrites(env: Env) -> None:
    text = inp("S;Espresso dublu;7.00")
    first = run(env.folder, "dup.inp", text)
    drop(env.folder, "dup.inp", text)
    deadline = time.monotonic() + 10
    while not ((env.folder / "BonOK" / "dup.1.inp").exists() and (env.folder / "BonANSWER" / "dup.1.inp").exists()):
        assert time.monotonic() < deadline, sorted(p.name for p in env.folder.iterdir())
        time.sleep(0.01)
    second = answer(env.folder, "dup.1.inp")
    assert int(second["receipt_number"]) > int(first["receipt_number"])  # same content, same name: a new sale
    assert answer(env.folder, "dup.inp") == first
    assert descriptions(env).count("Espresso dublu") == 2


def test_extensions_in_any_case_and_nothing_else(env: Env) -> None:
    (env.folder / "sub").mkdir()
    for name in ("UPPER.BON", "mixed.Txt", "ignored.csv", "ignored.inp.bak", "sub/nested.inp", ".inp"):
        drop(env.folder, name, inp("S;Extensie;1.00"))
    wait_resolved(env.folder, "UPPER.BON", "mixed.Txt")
    time.sleep(0.4)
    for name in ("ignored.csv", "ignored.inp.bak", "sub/nested.inp", ".inp"):
        assert (env.folder / name).exists()
    assert sorted(p.name for p in (env.folder / "BonANSWER").glob("*xtensie*")) == []
    assert not any(p.name.startswith(("ignored", "nested")) for p in (env.folder / "BonANSWER").iterdir())


def test_a_symlink_is_refused_and_its_target_untouched(env: Env) -> None:
    outside = env.root / "outside.inp"
    outside.write_text(inp("S;Din afara;9.99"), encoding="utf-8")
    (env.folder / "link.inp").symlink_to(outside)
    wait_resolved(env.folder, "link.inp")
    a = answer(env.folder, "link.inp")
    assert (a["status"], a["code"], a["line"]) == ("ERROR", "400", "0") and "symbolic link" in a["message"]
    assert (env.folder / "BonERR" / "link.inp").read_text(encoding="utf-8") == f"# ERROR line 0: [400] {a['message']}\n"
    assert not (env.folder / "BonERR" / "link.inp").is_symlink()
    assert outside.read_text(encoding="utf-8") == inp("S;Din afara;9.99")
    assert "Din afara" not in descriptions(env)


def test_a_file_over_10_mib_is_refused(env: Env) -> None:
    data = b"# " + b"x" * (10 * MiB) + b"\n"
    a = run(env.folder, "big.inp", data)
    assert (a["status"], a["code"], a["line"]) == ("ERROR", "400", "0")
    assert f"{len(data)} bytes" in a["message"]
    kept = (env.folder / "BonERR" / "big.inp").read_bytes()
    assert kept == data + f"# ERROR line 0: [400] {a['message']}\n".encode()


def test_a_file_written_slowly_waits_for_its_writer(env: Env) -> None:
    lines = [f"S{HDR}Bucata {i};1.{i:02d}\n" for i in range(8)]
    path = env.folder / "slow.inp"
    with open(path, "w", encoding="utf-8") as out:
        for n, line in enumerate(lines):
            if n:
                time.sleep(0.04)  # shorter than the 100 ms settle delay
            out.write(line)
            out.flush()
        last_write = time.time()
    wait_resolved(env.folder, "slow.inp")
    a = answer(env.folder, "slow.inp")
    assert a["status"] == "OK" and a["total"] == "8.28"  # 1.00 + 1.01 + ... + 1.07: every chunk made it
    assert (env.folder / "BonOK" / "slow.inp").read_text(encoding="utf-8") == "".join(lines)
    assert (env.folder / "BonANSWER" / "slow.inp").stat().st_mtime - last_write >= 0.09


def test_health_and_device_view_show_the_inp_state(env: Env) -> None:
    health = httpx.get(env.url + "/health").json()
    assert health["inp"] == {env.device_id: "watching"}
    assert inp_state(env.url, env.device_id) == {"state": "watching", "folder": str(env.folder), "error": None}


GARBAGE_LINE = st.one_of(
    st.text(max_size=60),
    st.builds(lambda letter, fields: f"{letter}{HDR}{';'.join(fields)}",
              st.sampled_from("HSCKPQTYIXZDVWs"), st.lists(st.text(alphabet="0123456789.,-;abc ", max_size=8),
                                                           max_size=10)),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(st.one_of(st.lists(GARBAGE_LINE, max_size=8).map("\n".join).map(str.encode),
                                st.binary(max_size=300)), min_size=1, max_size=6))
def test_garbage_never_stops_the_watcher(env: Env, files: list[bytes]) -> None:
    names = [f"g{time.monotonic_ns()}-{i}.inp" for i in range(len(files))]
    for name, data in zip(names, files, strict=True):
        drop(env.folder, name, data)
    wait_resolved(env.folder, *names)
    for name, data in zip(names, files, strict=True):
        a = answer(env.folder, name)
        if a["status"] == "OK":
            assert (env.folder / "BonOK" / name).read_bytes() == data
        else:
            err = (env.folder / "BonERR" / name).read_bytes()
            assert err.startswith(data) and b"# ERROR line " + a["line"].encode() + b": [" in err
            assert 0 <= int(a["line"]) <= data.count(b"\n") + data.count(b"\r") + 1
    assert inp_state(env.url, env.device_id)["state"] == "watching"


def test_startup_files_a_missing_folder_and_one_that_vanishes_and_returns(make_server: Any, tmp_path: Path) -> None:
    folder = tmp_path / "later"
    device_id = add_simulated_register(tmp_path / "data", "V", scan_folder=str(folder))
    srv: Server = make_server(tmp_path / "data", demo=False)
    state = wait_state(srv.url, device_id, "error")
    assert "does not exist" in state["error"] and state["folder"] == str(folder)
    assert httpx.get(srv.url + "/health").json()["inp"] == {device_id: "error"}

    folder.mkdir()
    drop(folder, "early.inp", inp("S;Devreme;1.00"))
    wait_resolved(folder, "early.inp")
    assert wait_state(srv.url, device_id, "watching")["error"] is None

    shutil.rmtree(folder)
    gone = wait_state(srv.url, device_id, "error")["error"]
    assert str(folder) in gone and ("removed" in gone or "does not exist" in gone)
    folder.mkdir()
    drop(folder, "back.inp", inp("S;Inapoi;2.00"))
    wait_resolved(folder, "back.inp")
    wait_state(srv.url, device_id, "watching")
    assert answer(folder, "back.inp")["status"] == "OK"

    srv.stop()
    drop(folder, "while-stopped.inp", inp("S;Oprit;3.00"))
    srv2: Server = make_server(tmp_path / "data", demo=False)
    wait_resolved(folder, "while-stopped.inp")
    items = [e["data"]["request"]["lines"][0]["description"] for e in receipts(srv2.url, device_id)]
    assert items == ["Devreme", "Inapoi", "Oprit"]
    assert not (folder / "BonERR").exists()


def test_a_fast_pos_reusing_one_name_loses_no_file(make_server: Any, tmp_path: Path) -> None:
    """settle 0 and a POS that drops the next ``bon.inp`` as soon as the last answer is there (answers come before
    the move out of the folder): every file runs once, in order, under its own numbered name."""
    folder = tmp_path / "fast"
    folder.mkdir()
    device_id = add_simulated_register(tmp_path / "data", "F", scan_folder=str(folder))
    set_settings(tmp_path / "data", inp_settle_ms=0)
    srv: Server = make_server(tmp_path / "data", demo=False)
    wait_state(srv.url, device_id, "watching")
    for n in range(20):
        drop(folder, "bon.inp", inp(f"S;Rapid {n};1.00"))
        answer_file = folder / "BonANSWER" / numbered("bon.inp", n)
        deadline = time.monotonic() + 10
        while not answer_file.exists():
            assert time.monotonic() < deadline, sorted(os.listdir(folder))
            time.sleep(0.001)
    wait_resolved(folder, "bon.inp")
    assert sorted(os.listdir(folder / "BonOK")) == sorted(numbered("bon.inp", n) for n in range(20))
    items = [e["data"]["request"]["lines"][0]["description"] for e in receipts(srv.url, device_id)]
    assert items == [f"Rapid {n}" for n in range(20)]


def test_a_scan_folder_link_pointed_elsewhere_is_followed(make_server: Any, tmp_path: Path) -> None:
    first, second, link = tmp_path / "first", tmp_path / "second", tmp_path / "link"
    first.mkdir()
    second.mkdir()
    link.symlink_to(first)
    device_id = add_simulated_register(tmp_path / "data", "L", scan_folder=str(link))
    srv: Server = make_server(tmp_path / "data", demo=False)
    assert run(link, "one.inp", inp("S;Prima;1.00"))["status"] == "OK"
    assert (first / "BonOK" / "one.inp").exists()
    link.unlink()
    link.symlink_to(second)
    drop(second, "two.inp", inp("S;A doua;1.00"))
    wait_resolved(second, "two.inp")
    assert wait_state(srv.url, device_id, "watching")["folder"] == str(link)
    assert [e["data"]["request"]["lines"][0]["description"] for e in receipts(srv.url, device_id)] == [
        "Prima", "A doua"]
