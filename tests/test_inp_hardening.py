"""INP folder hardening (issue 11, docs/inp.md): hard links, files that can never be claimed under their own name,
FIFOs and folders named ``*.inp``, result file modes, and a result folder replaced by a link — a real server
watching a real folder."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from fiscald.interfaces.inp.inputs import safe_name
from fiscald.interfaces.inp.watcher import RESCAN_S
from inpfiles import answer, drop, inp, inp_state, receipts, run, wait_resolved, wait_state
from server import Server, add_simulated_register


@dataclass(frozen=True)
class Env:
    srv: Server
    device_id: str
    folder: Path
    root: Path

    @property
    def url(self) -> str:
        return self.srv.url


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("inp-hard")
    folder = root / "scan"
    folder.mkdir()
    device_id = add_simulated_register(root / "data", "Hard", scan_folder=str(folder))
    srv = Server(root / "data", demo=False).start()
    wait_state(srv.url, device_id, "watching")
    yield Env(srv, device_id, folder, root)
    srv.stop()


def items(env: Env) -> list[str]:
    return [line["description"] for e in receipts(env.url, env.device_id)
            for line in e["data"]["request"]["lines"] if line["type"] == "item"]


def log_lines(env: Env, needle: str) -> list[str]:
    return [line for line in env.srv.log().splitlines() if needle in line]


def test_a_hard_link_to_a_file_elsewhere_is_refused_and_never_written(env: Env) -> None:
    secret = env.root / "secret.txt"
    secret.write_text("parola-secreta=1234\n", encoding="utf-8")
    os.link(secret, env.folder / "x.inp")
    outside_receipt = env.root / "elsewhere.inp"
    outside_receipt.write_text(inp("S;Legat;3.00"), encoding="utf-8")
    os.link(outside_receipt, env.folder / "y.inp")
    wait_resolved(env.folder, "x.inp", "y.inp")
    for name in ("x.inp", "y.inp"):
        a = answer(env.folder, name)
        assert (a["status"], a["code"], a["line"]) == ("ERROR", "400", "0") and "2 hard links" in a["message"]
        assert (env.folder / "BonERR" / name).read_text(encoding="utf-8") == f"# ERROR line 0: [400] {a['message']}\n"
    assert "parola" not in (env.folder / "BonANSWER" / "x.inp").read_text(encoding="utf-8")
    assert secret.read_text(encoding="utf-8") == "parola-secreta=1234\n" and secret.stat().st_nlink == 1
    assert outside_receipt.read_text(encoding="utf-8") == inp("S;Legat;3.00")
    assert "Legat" not in items(env)


def test_a_failed_file_is_copied_to_bonerr_not_appended_in_place(env: Env) -> None:
    text = inp("S;Copiat;abc")
    path = drop(env.folder, "copy.inp", text)
    inode = path.stat().st_ino
    wait_resolved(env.folder, "copy.inp")
    err = env.folder / "BonERR" / "copy.inp"
    assert err.read_text(encoding="utf-8").startswith(text + "# ERROR line 1: [400]")
    assert err.stat().st_ino != inode  # a new file: the claimed one was removed, never written to


def test_a_name_too_long_to_claim_is_answered_once_under_a_safe_name(env: Env) -> None:
    name = "a" * 250 + ".inp"  # 254 bytes: "<name>.processing" would pass the 255-byte limit
    drop(env.folder, name, inp("S;Nume lung;1.00"))
    safe = safe_name(name)
    assert len(safe.encode()) <= 240 and safe.endswith(".inp") and safe.startswith("a" * 100)
    wait_resolved(env.folder, safe)
    assert not (env.folder / name).exists()
    a = answer(env.folder, safe)
    assert (a["status"], a["code"], a["line"]) == ("ERROR", "400", "0")
    assert "254 bytes long" in a["message"] and safe in a["message"]
    assert (env.folder / "BonERR" / safe).read_text(encoding="utf-8").startswith(inp("S;Nume lung;1.00"))
    assert "Nume lung" not in items(env)
    time.sleep(RESCAN_S * 1.5)  # a rescan or two pass: nothing comes back, nothing is logged again
    assert sorted(p.name for p in (env.folder / "BonANSWER").iterdir() if p.name.startswith("aaaa")) == [safe]
    assert len(log_lines(env, "254 bytes long")) == 1
    assert inp_state(env.url, env.device_id)["state"] == "watching"


def test_a_name_that_is_not_utf8_is_answered_under_a_safe_name(env: Env) -> None:
    raw = os.fsencode(env.folder) + b"/badname_\xff\xfe.inp"
    with open(raw, "wb") as f:
        f.write(inp("S;Nume stricat;1.00").encode())
    safe = safe_name(os.fsdecode(b"badname_\xff\xfe.inp"))
    assert safe.startswith("badname___~") and safe.endswith(".inp")
    wait_resolved(env.folder, safe)
    assert not os.path.lexists(raw)
    a = answer(env.folder, safe)
    assert a["status"] == "ERROR" and "not valid UTF-8" in a["message"]
    assert "Nume stricat" not in items(env)
    health = httpx.get(env.url + "/health").json()
    assert health["inp"] == {env.device_id: "watching"}
    assert "Traceback" not in env.srv.log()


def test_a_fifo_and_a_folder_named_inp_are_left_alone_with_one_log_line(env: Env) -> None:
    os.mkfifo(env.folder / "pipe.inp")
    (env.folder / "dir.inp").mkdir()
    drop(env.folder, "after.inp", inp("S;Dupa fifo;1.00"))
    wait_resolved(env.folder, "after.inp")
    assert answer(env.folder, "after.inp")["status"] == "OK"
    time.sleep(RESCAN_S * 1.5)
    assert (env.folder / "pipe.inp").exists() and (env.folder / "dir.inp").is_dir()
    assert len(log_lines(env, "pipe.inp")) <= 1 and len(log_lines(env, "dir.inp")) <= 1
    assert not (env.folder / "BonANSWER" / "pipe.inp").exists()
    assert inp_state(env.url, env.device_id)["state"] == "watching"
    os.unlink(env.folder / "pipe.inp")
    os.rmdir(env.folder / "dir.inp")


def test_result_files_all_get_the_same_mode_honouring_the_umask(make_server: Any, tmp_path: Path) -> None:
    folder = tmp_path / "scan"
    folder.mkdir()
    device_id = add_simulated_register(tmp_path / "data", "Mode", scan_folder=str(folder))
    old = os.umask(0o027)
    try:
        srv: Server = make_server(tmp_path / "data", demo=False)  # inherits the umask
        wait_state(srv.url, device_id, "watching")
        run(folder, "ok.inp", inp("S;Mod;1.00"))  # the POS writes with the same umask
        run(folder, "err.inp", inp("S;Mod;x"))
    finally:
        os.umask(old)
    modes = {f"{sub}/{p.name}": p.stat().st_mode & 0o777
             for sub in ("BonOK", "BonERR", "BonANSWER") for p in (folder / sub).iterdir()}
    assert modes == dict.fromkeys(["BonOK/ok.inp", "BonERR/err.inp", "BonANSWER/ok.inp", "BonANSWER/err.inp"], 0o640)


def test_a_result_folder_replaced_by_a_link_keeps_the_state_error_until_fixed(make_server: Any,
                                                                             tmp_path: Path) -> None:
    folder, elsewhere = tmp_path / "scan", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    device_id = add_simulated_register(tmp_path / "data", "Link", scan_folder=str(folder))
    srv: Server = make_server(tmp_path / "data", demo=False)
    run(folder, "first.inp", inp("S;Inainte;1.00"))
    (folder / "BonOK").rename(tmp_path / "BonOK-saved")
    (folder / "BonOK").symlink_to(elsewhere)
    drop(folder, "second.inp", inp("S;In timpul;1.00"))
    assert "BonOK: not a folder inside the scan folder" in wait_state(srv.url, device_id, "error")["error"]
    drop(folder, "third.inp", inp("S;Asteapta;1.00"))
    deadline = time.monotonic() + 3.0  # several retries pass (0.5 s doubling): the state never flaps back
    while time.monotonic() < deadline:
        assert httpx.get(srv.url + "/health").json()["inp"] == {device_id: "error"}
        time.sleep(0.05)
    assert os.listdir(elsewhere) == []
    assert (folder / "third.inp").exists()  # claiming waits while results cannot be written
    (folder / "BonOK").unlink()
    wait_resolved(folder, "second.inp", "third.inp")
    assert wait_state(srv.url, device_id, "watching")["error"] is None
    assert sorted(os.listdir(folder / "BonOK")) == ["second.inp", "third.inp"]
    names = [e["data"]["request"]["lines"][0]["description"] for e in receipts(srv.url, device_id)]
    assert names == ["Inainte", "In timpul", "Asteapta"]  # each printed once
