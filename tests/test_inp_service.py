"""INP pieces on their own: result rendering and never-overwriting writes, and the INP service following live
device changes through ``DeviceManager.device_listeners`` (in-process, real store, real Simulated register)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

import pytest

from fiscald.config import Settings
from fiscald.core.events import Event
from fiscald.core.manager import DeviceManager
from fiscald.interfaces.inp import parse_inp
from fiscald.interfaces.inp.results import (
    FileError,
    FileOutcome,
    JobResult,
    answer_text,
    move,
    numbered,
    result_dir,
    write_new,
)
from fiscald.interfaces.inp.service import InpService, _error_line
from fiscald.models.config import ConnectionDetails, FiscalDeviceConfig
from fiscald.store import Database
from inpfiles import inp, resolved


def test_numbered_names() -> None:
    assert [numbered("bon.inp", n) for n in range(3)] == ["bon.inp", "bon.1.inp", "bon.2.inp"]
    assert numbered("a.b.TXT", 4) == "a.b.4.TXT"
    assert numbered("noext", 1) == "noext.1"


def test_answer_text_formats() -> None:
    result = {"receipt_number": 5, "fiscal_day": 2, "total_cents": -1205, "rate_basis_points": 550, "voided": True,
              "note": "two\nlines", "missing": None, "payments": {"cash": 7}, "pos_transactions": [{"x": 1}]}
    assert answer_text(FileOutcome(1, [JobResult("print_receipt", result)])) == (
        "status=OK\noperation=print_receipt\nreceipt_number=5\nfiscal_day=2\ntotal=-12.05\nrate=5.50\nvoided=true\n"
        "note=two lines\nmissing=\npayments_cash=0.07\n")
    two = FileOutcome(2, [JobResult("cash_in", {"cash_in_drawer_cents": 100})], FileError(2012, "nu\nsunt", 3))
    assert answer_text(two) == ("status=ERROR\ncode=2012\nmessage=nu sunt\nline=3\njobs=2\ndone=1\n"
                                "1.operation=cash_in\n1.cash_in_drawer=1.00\n")
    assert FileOutcome.from_json(two.to_json()) == two


def test_write_new_never_overwrites_and_redo_keeps_an_identical_file(tmp_path: Path) -> None:
    out = result_dir(tmp_path, "BonANSWER")
    assert write_new(out, "a.inp", b"one").name == "a.inp"
    assert write_new(out, "a.inp", b"two").name == "a.1.inp"
    assert write_new(out, "a.inp", b"two", redo=True).name == "a.1.inp"  # a crash-interrupted write, not a copy
    assert write_new(out, "a.inp", b"three", redo=True).name == "a.2.inp"
    assert [(out / n).read_bytes() for n in ("a.inp", "a.1.inp", "a.2.inp")] == [b"one", b"two", b"three"]
    assert sorted(os.listdir(out)) == ["a.1.inp", "a.2.inp", "a.inp"]  # no temp file left


def test_move_is_safe_to_repeat_after_a_crash(tmp_path: Path) -> None:
    ok = result_dir(tmp_path, "BonOK")
    (ok / "x.inp").write_text("older", encoding="utf-8")
    source = tmp_path / "x.inp.processing"
    source.write_text("mine", encoding="utf-8")
    os.link(source, ok / "x.1.inp")  # the crash came between the link and the unlink
    assert move(source, ok, "x.inp").name == "x.1.inp"
    assert not source.exists() and sorted(os.listdir(ok)) == ["x.1.inp", "x.inp"]


def test_a_result_folder_that_is_a_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "scan").mkdir()
    (tmp_path / "scan" / "BonOK").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(Exception, match="BonOK: not a folder inside the scan folder"):
        result_dir(tmp_path / "scan", "BonOK")


async def _until(check: object, timeout: float = 10.0) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_live_device_changes_start_move_and_stop_the_watch(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()

    async def scenario() -> None:
        db = Database(tmp_path / "fiscald.db")
        manager = DeviceManager(db, Settings(enable_simulated_devices=True))
        await manager.start()
        service = InpService(manager)
        await service.start()
        events = manager.events.subscribe(names={"device_status"})
        try:
            config = FiscalDeviceConfig(id=str(uuid.uuid4()), name="Live", manufacturer="Simulated",
                                        model="Simulated", connection_details=ConnectionDetails(type="Virtual"),
                                        scan_folder=str(first))
            await manager.apply(config)
            handle = manager.handle(config.id)
            assert handle.extras["inp"] == {"state": "watching", "folder": str(first), "error": None}
            (first / "one.inp").write_text(inp("S;Live;1.00"), encoding="utf-8")
            await _until(lambda: resolved(first, "one.inp"))

            await manager.apply(config.model_copy(update={"name": "Live renamed"}))  # same folder: kept
            assert manager.handle(config.id).extras["inp"]["state"] == "watching"
            assert service.devices[config.id].folder == str(first)

            await manager.apply(config.model_copy(update={"scan_folder": str(second)}))
            (first / "old.inp").write_text(inp("S;Vechi;1.00"), encoding="utf-8")
            (second / "two.inp").write_text(inp("S;Mutat;1.00"), encoding="utf-8")
            await _until(lambda: resolved(second, "two.inp"))

            await manager.apply(config.model_copy(update={"scan_folder": None}))
            assert manager.handle(config.id).extras["inp"] == {"state": "off", "folder": None, "error": None}
            (second / "three.inp").write_text(inp("S;Oprit;1.00"), encoding="utf-8")

            await manager.apply(config.model_copy(update={"scan_folder": str(tmp_path / "nowhere")}))
            await _until(lambda: manager.handle(config.id).extras["inp"]["state"] == "error")
            published: list[Event] = []
            while not events.queue.empty():
                published.append(events.queue.get_nowait())
            assert any(e.payload.get("inp", {}).get("state") == "error" for e in published)

            await manager.remove(config.id)
            assert config.id not in service.devices and config.id not in service.statuses
            await asyncio.sleep(0.4)
            assert (first / "old.inp").exists() and (second / "three.inp").exists()  # no longer watched
        finally:
            await service.stop()
            await manager.stop()
            db.close()

    asyncio.run(scenario())


def test_a_device_error_points_at_the_receipt_line_it_names() -> None:
    [job] = parse_inp(inp("H;", "S;Unu;1.00", "P;text", "# comment", "S;Doi;2.00"))
    assert job.line == 1 and job.line_numbers == (2, 3, 5)
    assert _error_line(job, {"status": 2008, "error": "x", "details": {"line_index": 2}}) == 5
    assert _error_line(job, {"status": 2001, "error": "x"}) == 1
    assert _error_line(job, {"status": 2008, "error": "x", "details": {"line_index": 7}}) == 1
