"""INP crash safety and shared folders: SIGKILL during a batch, two instances racing for one folder, and every
recovery case of a ``.processing`` file left by a stop (shared/spec/inp.md "Crash safety")."""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from fiscald.app import open_database
from fiscald.interfaces.inp import parse_inp
from fiscald.interfaces.inp.inputs import file_id
from fiscald.interfaces.inp.results import FileError, FileOutcome, JobResult, answer_text
from fiscald.operations import OPERATIONS, Operation
from fiscald.store import inp_claims
from fiscald.store import operations as op_repo
from inpfiles import answer, drop, inp, receipts, wait_resolved, wait_state
from server import Server, add_simulated_register


def item_names(url: str, device_id: str) -> list[str]:
    return [e["data"]["request"]["lines"][0]["description"] for e in receipts(url, device_id)]


def listed(folder: Path) -> set[str]:
    """A result folder's files, but for the temp files a SIGKILL can leave (swept once 10 minutes old)."""
    names = set(os.listdir(folder)) if folder.exists() else set()
    assert all(n.endswith(".tmp") for n in names if n.startswith("."))
    return {n for n in names if not n.startswith(".")}


def test_sigkill_during_a_batch_then_restart(make_server: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    folders = [tmp_path / f"scan{d}" for d in range(2)]
    devices = []
    for d, folder in enumerate(folders):
        folder.mkdir()
        devices.append(add_simulated_register(data, f"K{d}", scan_folder=str(folder)))
    srv: Server = make_server(data, demo=False)
    for device in devices:
        wait_state(srv.url, device, "watching")
    per_device = 120
    names = [f"k{n:03d}.inp" for n in range(per_device)]
    for name in names:
        for d, folder in enumerate(folders):
            drop(folder, name, inp(f"S;K{d}-{name};{1 + len(name)}.{int(name[1:4]) % 100:02d}"))
    deadline = time.monotonic() + 20
    while sum(len(list((f / "BonOK").glob("*"))) if (f / "BonOK").exists() else 0 for f in folders) < 40:
        assert time.monotonic() < deadline, "the batch did not get going"
        time.sleep(0.002)
    srv.kill()
    left = [n for f in folders for n in os.listdir(f) if n.endswith(".inp") or n.endswith(".processing")]
    assert left, "the kill came after the whole batch"

    srv2: Server = make_server(data, demo=False)
    for folder in folders:
        wait_resolved(folder, *names, timeout=60)
    for d, (device, folder) in enumerate(zip(devices, folders, strict=True)):
        assert set(os.listdir(folder)) <= {"BonANSWER", "BonOK", "BonERR"}  # nothing left, no .processing
        ok, err, answers = (listed(folder / sub) for sub in ("BonOK", "BonERR", "BonANSWER"))
        assert ok | err == set(names) and not ok & err  # every file once: no name.1.inp anywhere
        assert answers == set(names)
        printed = Counter(item_names(srv2.url, device))
        assert all(count == 1 for count in printed.values()), "a file was printed twice"
        for name in err:  # only a job caught on the device by the kill may fail: 1010, never retried
            assert answer(folder, name)["code"] == "1010"
        assert {f"K{d}-{n}" for n in ok} <= set(printed)
        assert set(printed) - {f"K{d}-{n}" for n in ok} <= {f"K{d}-{n}" for n in err}
        journal = {e["number"]: e for e in receipts(srv2.url, device)}
        for name in ok:  # answers written after the restart replay the receipt that was printed
            a = answer(folder, name)
            entry = journal[int(a["receipt_number"])]
            assert entry["data"]["request"]["lines"][0]["description"] == f"K{d}-{name}"
            assert entry["datetime"] == a["datetime"]


def test_two_instances_race_for_one_folder(make_server: Any, tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    dev_a = add_simulated_register(tmp_path / "a", "A", scan_folder=str(folder))
    dev_b = add_simulated_register(tmp_path / "b", "B", scan_folder=str(folder))
    srv_a: Server = make_server(tmp_path / "a", demo=False, ready=False)
    srv_b: Server = make_server(tmp_path / "b", demo=False)
    srv_a.wait_ready()
    wait_state(srv_a.url, dev_a, "watching")
    wait_state(srv_b.url, dev_b, "watching")
    names = [f"race{n:02d}.inp" for n in range(60)]
    for name in names:
        drop(folder, name, inp(f"S;{name};1.00"))
    wait_resolved(folder, *names)
    time.sleep(0.3)  # a loser that wrongly went on would show up by now
    printed = item_names(srv_a.url, dev_a) + item_names(srv_b.url, dev_b)
    assert sorted(printed) == names  # each file exactly once, on one register or the other
    assert sorted(os.listdir(folder / "BonOK")) == names
    assert sorted(os.listdir(folder / "BonANSWER")) == names
    assert not (folder / "BonERR").exists()


def _claim(data: Path, device_id: str, folder: Path, name: str, text: str, state: str = "claimed",
           outcome: FileOutcome | None = None, running_job: bool = False) -> str:
    """Leave ``name`` as a stop would: claimed (``.processing``), with its claim row and maybe a running job."""
    claimed = folder / f"{name}.processing"
    claimed.write_text(text, encoding="utf-8")
    claim_id = uuid.uuid4().hex
    db = open_database(data)
    try:
        def write(conn: Any) -> None:
            inp_claims.insert(conn, claim_id, device_id, str(folder.resolve()), name, file_id(claimed))
            if outcome is not None:
                inp_claims.finish(conn, claim_id, "0" * 64, outcome.to_json())
            if running_job:
                [job] = parse_inp(text)
                op = Operation(device_id, OPERATIONS[job.operation], job.params)
                op_repo.insert_running(conn, uuid.uuid4().hex, device_id, op.name, "inp", f"inp:{claim_id}:0",
                                       op.request_hash(), op.canonical())

        db.write_sync(write)
    finally:
        db.close()
    return claim_id


def test_processing_files_left_by_a_stop_are_resolved(make_server: Any, tmp_path: Path) -> None:
    data, folder = tmp_path / "data", tmp_path / "scan"
    folder.mkdir()
    device_id = add_simulated_register(data, "R", scan_folder=str(folder))
    # on the device when the process died: its operation is still "running" in the log
    _claim(data, device_id, folder, "on-device.inp", inp("S;Pe casa;4.00"), running_job=True)
    # claimed, never started
    _claim(data, device_id, folder, "not-started.inp", inp("S;Neinceput;5.00"))
    # finished and recorded, not yet moved
    recorded = FileOutcome(1, [JobResult("print_receipt", {"receipt_number": 777, "total_cents": 600})])
    _claim(data, device_id, folder, "recorded.inp", inp("S;Inregistrat;6.00"), "done", recorded)
    # a failed file whose answer and BonERR copy were written before the stop, the claimed file not yet removed
    failed = FileOutcome(0, error=FileError(400, "S: price 'x' is not a number", 1))
    text = inp("S;Gresit;x")
    comment = f"# ERROR line 1: [400] {failed.error.message if failed.error else ''}\n"
    _claim(data, device_id, folder, "half-moved.inp", text, "done", failed)
    (folder / "BonANSWER").mkdir()
    (folder / "BonANSWER" / "half-moved.inp").write_text(answer_text(failed), encoding="utf-8")
    (folder / "BonERR").mkdir()
    (folder / "BonERR" / "half-moved.inp").write_text(text + comment, encoding="utf-8")
    # another instance's claim: not ours to touch
    (folder / "foreign.inp.processing").write_text(inp("S;Strain;7.00"), encoding="utf-8")
    # temp files of result writes: one a crash left long ago, one maybe still being written by another instance
    (folder / "BonOK").mkdir()
    for temp in (".old.inp.a1b2.tmp", ".new.inp.c3d4.tmp"):
        (folder / "BonOK" / temp).write_text("partial", encoding="utf-8")
    os.utime(folder / "BonOK" / ".old.inp.a1b2.tmp", (time.time() - 3600, time.time() - 3600))

    srv: Server = make_server(data, demo=False)
    wait_resolved(folder, "on-device.inp", "not-started.inp", "recorded.inp", "half-moved.inp")
    on_device = answer(folder, "on-device.inp")
    assert on_device["status"] == "ERROR" and on_device["code"] == "1010" and on_device["line"] == "1"
    kept = (folder / "BonERR" / "on-device.inp").read_text(encoding="utf-8")
    assert kept.startswith(inp("S;Pe casa;4.00") + "# ERROR line 1: [1010]")
    assert answer(folder, "not-started.inp")["status"] == "OK"
    assert (folder / "BonANSWER" / "recorded.inp").read_text(encoding="utf-8") == answer_text(recorded)
    assert answer(folder, "recorded.inp")["receipt_number"] == "777"
    assert (folder / "BonOK" / "recorded.inp").read_text(encoding="utf-8") == inp("S;Inregistrat;6.00")
    assert (folder / "BonERR" / "half-moved.inp").read_text(encoding="utf-8") == text + comment  # the copy once
    assert sorted(os.listdir(folder / "BonERR")) == ["half-moved.inp", "on-device.inp"]
    assert sorted(os.listdir(folder / "BonANSWER")) == ["half-moved.inp", "not-started.inp", "on-device.inp",
                                                        "recorded.inp"]
    assert item_names(srv.url, device_id) == ["Neinceput"]  # 1010 and recorded files never print (again)
    assert (folder / "foreign.inp.processing").exists()
    assert not (folder / "BonOK" / ".old.inp.a1b2.tmp").exists() and (folder / "BonOK" / ".new.inp.c3d4.tmp").exists()
    drop(folder, "foreign.inp", inp("S;Alt strain;8.00"))  # waits while the same name is still claimed
    time.sleep(0.4)
    assert (folder / "foreign.inp").exists()
    assert wait_state(srv.url, device_id, "watching")["error"] is None

    db = open_database(data)
    try:
        states = db.read_sync(lambda c: dict(c.execute("SELECT name, state FROM inp_claims").fetchall()))
        hashes = db.read_sync(lambda c: dict(c.execute("SELECT name, sha256 FROM inp_claims").fetchall()))
        outcome = db.read_sync(lambda c: c.execute(
            "SELECT outcome FROM inp_claims WHERE name = 'not-started.inp'").fetchone()[0])
    finally:
        db.close()
    assert set(states) == {"on-device.inp", "not-started.inp", "recorded.inp", "half-moved.inp"}
    assert hashes["not-started.inp"] == hashlib.sha256(inp("S;Neinceput;5.00").encode()).hexdigest()
    assert json.loads(outcome)["results"][0]["operation"] == "print_receipt"


def test_a_graceful_stop_finishes_the_files_it_claimed(make_server: Any, tmp_path: Path) -> None:
    folder = tmp_path / "scan"
    folder.mkdir()
    device_id = add_simulated_register(tmp_path / "data", "G", scan_folder=str(folder))
    srv: Server = make_server(tmp_path / "data", demo=False)
    wait_state(srv.url, device_id, "watching")
    names = [f"g{n:03d}.inp" for n in range(300)]
    for name in names:
        drop(folder, name, inp(f"S;{name};1.00"))
    deadline = time.monotonic() + 20
    while not (folder / "BonOK").exists() or len(os.listdir(folder / "BonOK")) < 20:
        assert time.monotonic() < deadline, "the batch did not get going"
        time.sleep(0.002)
    srv.stop()  # SIGTERM in the middle of the batch
    left = os.listdir(folder)
    assert not [n for n in left if n.endswith(".processing")], "a claimed file was left for the next start"
    done = listed(folder / "BonOK")
    assert listed(folder / "BonANSWER") == done and done | {n for n in left if n.endswith(".inp")} == set(names)
