"""INP on the platforms and file systems we cannot run here (issue 13): the same code paths, with the operating
system's behaviour faked at its boundary (``os`` functions, the watch library), the INP service and a Simulated
register real and in-process.

- Windows: ``os.DirEntry.stat()`` has no inode, ``os.open`` without ``O_BINARY`` translates CRLF and stops at
  0x1A, a file another program holds open cannot be renamed or removed, and a junction looks like a folder.
- FAT/exFAT/SMB: no hard links. A network share: no change notifications, slow calls.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import threading
import types
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import polling
import pytest

from fiscald.config import Settings
from fiscald.core.manager import DeviceManager
from fiscald.errors import FiscalError
from fiscald.interfaces.inp import results, watcher
from fiscald.interfaces.inp.inputs import file_id
from fiscald.interfaces.inp.service import InpService
from fiscald.models.config import ConnectionDetails, FiscalDeviceConfig
from fiscald.store import Database, inp_claims
from inpfiles import HDR, inp, resolved

O_BINARY = 0x8000  # Windows' value


class Inp:
    """A running DeviceManager + InpService with one Simulated register (no scan folder until :meth:`watch`)."""

    def __init__(self, manager: DeviceManager, service: InpService, config: FiscalDeviceConfig) -> None:
        self.manager, self.service, self.config = manager, service, config

    async def watch(self, folder: Path) -> None:
        self.config = self.config.model_copy(update={"scan_folder": str(folder)})
        await self.manager.apply(self.config)

    @property
    def state(self) -> str:
        state: str = self.manager.handle(self.config.id).extras["inp"]["state"]
        return state


@asynccontextmanager
async def running(tmp_path: Path) -> AsyncIterator[Inp]:
    db = Database(tmp_path / "fiscald.db")
    manager = DeviceManager(db, Settings(enable_simulated_devices=True, inp_settle_ms=20))
    await manager.start()
    service = InpService(manager)
    await service.start()
    config = FiscalDeviceConfig(id=str(uuid.uuid4()), name="Win", manufacturer="Simulated", model="Simulated",
                                connection_details=ConnectionDetails(type="Virtual"))
    await manager.apply(config)
    try:
        yield Inp(manager, service, config)
    finally:
        await service.stop()
        await manager.stop()
        db.close()


# a bounded poll every 10 ms: the checks stat files the service under test is writing
until = partial(polling.until, timeout_s=15.0, interval_s=0.01)


def answer(folder: Path, name: str) -> dict[str, str]:
    text = (folder / "BonANSWER" / name).read_text(encoding="utf-8")
    return dict(line.split("=", 1) for line in text.splitlines())


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "scan"
    path.mkdir()
    return path


# -- Windows: DirEntry ids -------------------------------------------------------------------------------------


class _WindowsDirEntry:
    """What ``os.scandir`` yields on Windows: ``stat()`` without inode and device (both 0)."""

    def __init__(self, entry: os.DirEntry[str]) -> None:
        self._entry, self.name, self.path = entry, entry.name, entry.path

    def is_dir(self, *, follow_symlinks: bool = True) -> bool:
        return self._entry.is_dir(follow_symlinks=follow_symlinks)

    def is_file(self, *, follow_symlinks: bool = True) -> bool:
        return self._entry.is_file(follow_symlinks=follow_symlinks)

    def is_symlink(self) -> bool:
        return self._entry.is_symlink()

    def stat(self, *, follow_symlinks: bool = True) -> os.stat_result:
        st = self._entry.stat(follow_symlinks=follow_symlinks)
        return os.stat_result((st.st_mode, 0, 0, *tuple(st)[3:10]),
                              {"st_atime_ns": st.st_atime_ns, "st_mtime_ns": st.st_mtime_ns,
                               "st_ctime_ns": st.st_ctime_ns})


class _WindowsScandir:
    def __init__(self, real: Callable[..., Any], path: Any) -> None:
        self._it = real(path)

    def __enter__(self) -> _WindowsScandir:
        return self

    def __exit__(self, *exc: object) -> None:
        self._it.close()

    def __iter__(self) -> Iterator[_WindowsDirEntry]:
        return (_WindowsDirEntry(e) for e in self._it)


def test_recovery_matches_its_claims_where_dir_entries_have_no_inode(tmp_path: Path, folder: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    real_scandir = os.scandir
    monkeypatch.setattr(os, "scandir", lambda path=".": _WindowsScandir(real_scandir, path))

    async def scenario() -> None:
        async with running(tmp_path) as inp_:
            claimed = folder / "left.inp.processing"
            claimed.write_text(inp("S;Lasat de oprire;2.00"), encoding="utf-8")
            claim_id = uuid.uuid4().hex
            await inp_.manager.db.write(lambda conn: inp_claims.insert(
                conn, claim_id, inp_.config.id, str(folder.resolve()), "left.inp", file_id(claimed)))
            await inp_.watch(folder)  # the watch starts with a recovery
            await until(lambda: resolved(folder, "left.inp"))
            assert answer(folder, "left.inp")["status"] == "OK"
            assert (folder / "BonOK" / "left.inp").exists()

    asyncio.run(scenario())


# -- Windows: text mode --------------------------------------------------------------------------------------


def test_inputs_are_read_in_binary_mode(tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without O_BINARY, Windows reads CRLF as LF and stops at 0x1A: here the file would pass as one receipt."""
    real_open = os.open
    translated = tmp_path / "text-mode"

    def windows_open(path: Any, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        if str(path).endswith(".processing") and not flags & O_BINARY:
            text_mode = Path(path).read_bytes().replace(b"\r\n", b"\n").split(b"\x1a")[0]
            translated.write_bytes(text_mode)
            return real_open(translated, flags & ~O_BINARY, mode)
        return real_open(path, flags & ~O_BINARY, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "O_BINARY", O_BINARY, raising=False)
    monkeypatch.setattr(os, "open", windows_open)
    data = f"S{HDR}Apa;1.00\r\n# nota \x1a\r\nS{HDR}Suc;x\r\n".encode()

    async def scenario() -> None:
        async with running(tmp_path) as inp_:
            await inp_.watch(folder)
            (folder / "ctrlz.inp").write_bytes(data)
            await until(lambda: resolved(folder, "ctrlz.inp"))
            a = answer(folder, "ctrlz.inp")
            assert (a["status"], a["line"]) == ("ERROR", "3")
            comment = f"# ERROR line 3: [400] {a['message']}\r\n".encode()
            assert (folder / "BonERR" / "ctrlz.inp").read_bytes() == data + comment
            [sha] = await inp_.manager.db.read(lambda c: [r[0] for r in c.execute("SELECT sha256 FROM inp_claims")])
            assert sha == hashlib.sha256(data).hexdigest()

    asyncio.run(scenario())


# -- FAT/exFAT/SMB: no hard links ------------------------------------------------------------------------------


def _no_links(monkeypatch: pytest.MonkeyPatch) -> None:
    def link(src: Any, dst: Any, **kwargs: Any) -> None:
        raise OSError(errno.EPERM, "Operation not permitted", str(src))  # what vfat answers; SMB: EOPNOTSUPP

    monkeypatch.setattr(os, "link", link)


def test_result_writes_without_hard_links_never_overwrite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_links(monkeypatch)
    out = results.result_dir(tmp_path, "BonANSWER")
    (out / "a.inp").write_bytes(b"older")
    assert results.write_new(out, "a.inp", b"one").name == "a.1.inp"
    assert results.write_new(out, "a.inp", b"one", redo=True).name == "a.1.inp"
    source = tmp_path / "a.inp.processing"
    source.write_bytes(b"command")
    ok = results.result_dir(tmp_path, "BonOK")
    (ok / "a.inp").write_bytes(b"older command")
    assert results.move(source, ok, "a.inp").name == "a.1.inp"
    assert not source.exists()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == {"a.inp": b"older", "a.1.inp": b"one"}
    assert {p.name: p.read_bytes() for p in ok.iterdir()} == {"a.inp": b"older command", "a.1.inp": b"command"}


def test_a_folder_without_hard_links_gets_every_result(tmp_path: Path, folder: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _no_links(monkeypatch)

    async def scenario() -> None:
        async with running(tmp_path) as inp_:
            await inp_.watch(folder)
            for n, text in enumerate((inp("S;Fat unu;1.00"), inp("S;Fat doi;1.00"), inp("S;Fat;x"))):
                (folder / "bon.inp").write_text(text, encoding="utf-8")
                answered = folder / "BonANSWER" / results.numbered("bon.inp", n)
                await until(lambda a=answered: a.exists() and resolved(folder, "bon.inp"))  # type: ignore[misc]
            assert sorted(os.listdir(folder / "BonOK")) == ["bon.1.inp", "bon.inp"]
            assert os.listdir(folder / "BonERR") == ["bon.inp"]  # numbered per result folder
            assert (folder / "BonOK" / "bon.1.inp").read_text(encoding="utf-8") == inp("S;Fat doi;1.00")
            assert answer(folder, "bon.2.inp")["status"] == "ERROR"
            assert inp_.state == "watching"

    asyncio.run(scenario())


# -- Windows: a file another program holds open ------------------------------------------------------------------


def test_a_file_held_open_by_another_program_is_retried_not_an_error(tmp_path: Path, folder: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    real_rename, real_unlink = os.rename, os.unlink
    refusals = {"rename": 2, "unlink": 2}

    def sharing_violation(what: str) -> None:
        if refusals[what]:
            refusals[what] -= 1
            raise PermissionError(errno.EACCES, "The process cannot access the file because it is being used by "
                                                "another process")  # WinError 32

    def rename(src: Any, dst: Any, **kwargs: Any) -> None:
        if str(src).endswith("held.inp"):
            sharing_violation("rename")
        real_rename(src, dst, **kwargs)

    def unlink(path: Any, **kwargs: Any) -> None:
        if str(path).endswith("held.inp.processing"):
            sharing_violation("unlink")
        real_unlink(path, **kwargs)

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(os, "unlink", unlink)

    async def scenario() -> None:
        async with running(tmp_path) as inp_:
            await inp_.watch(folder)
            states: list[str] = []
            (folder / "held.inp").write_text(inp("S;Tinut deschis;1.00"), encoding="utf-8")
            while not resolved(folder, "held.inp"):
                states.append(inp_.state)
                await asyncio.sleep(0.01)
            assert refusals == {"rename": 0, "unlink": 0}
            assert set(states) == {"watching"}
            assert (folder / "BonOK" / "held.inp").exists() and answer(folder, "held.inp")["status"] == "OK"
            assert os.listdir(folder / "BonANSWER") == ["held.inp"]  # answered once

    asyncio.run(scenario())


# -- Windows: junctions ------------------------------------------------------------------------------------------


def test_a_result_folder_junction_pointing_outside_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scan, elsewhere = tmp_path / "scan", tmp_path / "elsewhere"
    scan.mkdir()
    elsewhere.mkdir()
    (scan / "BonOK").symlink_to(elsewhere, target_is_directory=True)
    junction = str(scan / "BonOK")
    # lstat of a junction on Windows: a folder (no S_IFLNK); only resolving it (which pathlib does with the
    # final path name on Windows) shows where it leads. Faked for the module under test only, as its ``os``.
    windows_os = types.SimpleNamespace(**{name: getattr(os, name) for name in dir(os) if not name.startswith("__")})
    windows_os.lstat = lambda p, **kw: os.stat(p) if str(p) == junction else os.lstat(p, **kw)
    monkeypatch.setattr(results, "os", windows_os)
    with pytest.raises(FiscalError, match="BonOK: not a folder inside the scan folder"):
        results.result_dir(scan, "BonOK")
    with pytest.raises(FiscalError, match="BonOK: not a folder inside the scan folder"):
        results.check_result_dirs(scan)
    assert results.result_dir(scan, "BonERR") == scan / "BonERR"
    assert os.listdir(elsewhere) == []


# -- a network share: slow calls, no notifications -------------------------------------------------------------


def test_a_slow_folder_check_does_not_stall_the_event_loop(tmp_path: Path, folder: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    real_access = os.access
    armed, blocked, release = threading.Event(), threading.Event(), threading.Event()
    returned: list[bool] = []

    def slow_access(path: Any, mode: int, **kwargs: Any) -> bool:
        if armed.is_set() and Path(path) == folder.resolve():
            blocked.set()
            release.wait(10)  # a UNC share that takes its time
            returned.append(True)
        return real_access(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", slow_access)

    async def scenario() -> None:
        async with running(tmp_path) as inp_:
            await inp_.watch(folder)
            await until(lambda: inp_.state == "watching")
            armed.set()
            await until(lambda: blocked.is_set())
            ticks = 0
            while ticks < 5:  # the loop runs on while the check is blocked in its thread
                await asyncio.sleep(0)
                ticks += 1
            assert not returned, "the folder check ran on the event loop"
            release.set()

    asyncio.run(scenario())


def test_a_share_without_change_notifications_is_rescanned(tmp_path: Path, folder: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def silent_awatch(*paths: Any, rust_timeout: int, **kwargs: Any) -> AsyncIterator[set[Any]]:
        async def changes() -> AsyncIterator[set[Any]]:
            while True:  # never a change: only the idle ticks
                await asyncio.sleep(rust_timeout / 1000)
                yield set()
        return changes()

    monkeypatch.setattr(watcher, "awatch", silent_awatch)

    async def scenario() -> None:
        async with running(tmp_path) as inp_:
            (folder / "first.inp").write_text(inp("S;Inainte;1.00"), encoding="utf-8")
            await inp_.watch(folder)
            await until(lambda: resolved(folder, "first.inp"))  # found when the watch started (and recovered)
            (folder / "share.inp").write_text(inp("S;Pe share;1.00"), encoding="utf-8")  # only a rescan sees it
            await until(lambda: resolved(folder, "share.inp"), timeout_s=watcher.RESCAN_S * 3 + 5)
            assert answer(folder, "share.inp")["status"] == "OK"

    asyncio.run(scenario())


def test_a_stale_temp_file_still_held_open_is_left_for_a_later_sweep(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    ok = results.result_dir(tmp_path, "BonOK")
    for temp in (".a.inp.1111.tmp", ".b.inp.2222.tmp"):
        (ok / temp).write_bytes(b"partial")
        os.utime(ok / temp, (0, 0))
    real_unlink = os.unlink

    def unlink(path: Any, **kwargs: Any) -> None:
        if str(path).endswith(".a.inp.1111.tmp"):
            raise PermissionError(errno.EACCES, "being used by another process")  # WinError 32
        real_unlink(path, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)
    assert results.sweep_temps(tmp_path, 600) == 1
    assert os.listdir(ok) == [".a.inp.1111.tmp"]
