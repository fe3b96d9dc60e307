"""The INP file interface (shared/spec/inp.md, docs/inp.md): claim -> parse -> execute -> results, crash-safe.

Per fiscal device with a ``scan_folder`` one :class:`DeviceInp`: a :class:`~.watcher.FolderWatch` and one worker
task that takes the settled command files one at a time, in the order they settled, so a receipt file and the
Z report file dropped after it run in that order. For each file:

1. a claim row (store/inp_claims.py) is written, then the file is renamed ``<name>.processing`` — a failed
   rename means another instance has it (or, Windows, its writer still holds it: tried again at the next
   rescan): the row is dropped and the file left alone. A name that cannot be used as it is (inputs.py) is
   claimed under a safe name with its refusal already on record;
2. the whole file is read (at most 10 MiB; only a regular file with no other link, inputs.open_input),
   decoded in the folder's ``scan_encoding``, hashed and parsed against the device's VAT rates before
   anything reaches the device;
3. its jobs run in order through ``DeviceManager.execute`` with the idempotency key ``inp:<claim id>:<job>``;
   the first failing job stops the file;
4. the content hash and the outcome are stored in the claim, and only then the result files are written:
   the answer in ``BonANSWER/``, then the command file moved to ``BonOK/`` (or a copy of it with the error
   comment appended written to ``BonERR/`` and the claimed file removed: it is never written to). This step
   runs in a task of its own while the worker goes on with the next file (the device's order is kept; only
   answers may appear out of order).

A failure of the store or the result folders shows INP ``error`` and pauses claiming until a recovery (retried
with a growing delay) has written every pending result; the folder watch's own state is kept apart, so the
state stays ``error`` until both are fine.

Recovery (at start and whenever the watch is re-established) resolves every ``.processing`` file this instance
claimed: an outcome on record is written out as recorded; otherwise the file runs again with the same keys, so
a finished job replays its stored answer, a job that was on the device when the process died answers 1010
OutcomeUnknown (-> BonERR, never printed twice) and a job that never started runs now. ``.processing`` files
without a claim of this instance (another instance's) are left alone.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import hashlib
import logging
import os
import stat
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal

from fiscald.core.events import Event
from fiscald.core.manager import DeviceManager
from fiscald.errors import Code, FiscalError, Language
from fiscald.interfaces.inp import results as res
from fiscald.interfaces.inp.encoding import BOM, decode
from fiscald.interfaces.inp.inputs import (
    MAX_NAME_BYTES,
    Refused,
    file_id,
    name_problem,
    open_input,
    safe_name,
    shown,
)
from fiscald.interfaces.inp.parser import InpError, InpJob, parse_inp
from fiscald.interfaces.inp.watcher import PROCESSING, FolderWatch, is_command_name, scan_files
from fiscald.models.config import DeviceConfig, FiscalDeviceConfig, ScanEncoding
from fiscald.operations import OPERATIONS, Operation
from fiscald.store import inp_claims
from fiscald.store.inp_claims import Claim

log = logging.getLogger("fiscald.inp")

MAX_BYTES = 10 * 1024 * 1024
STOP_WAIT_S = 30.0  # at shutdown, how long a file already on its way to the device may take to finish
RETRY_MAX_S = 30.0
HELD_RETRY_FIRST_S = 0.2  # a claimed file another program holds open: moved/removed again after this, doubling
MAX_FINISHING = 16  # files of one device whose results are being written while the next runs
RECOVERY = "recovery"
DEVICE_READY_WAIT_S = 10.0  # a file for a register whose start is under way waits this long for it, else 1004
TEMP_MAX_AGE_S = 600.0  # a result temp file this old was left by a crash (see results.sweep_temps)

InpState = Literal["watching", "error", "off"]


@dataclass
class InpStatus:
    state: InpState = "off"
    folder: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "folder": self.folder, "error": self.error}


@dataclass(frozen=True)
class _Read:
    """A claimed file as read: its hash, encoding and line end, and either its jobs or why it cannot run."""

    sha256: str
    jobs: list[InpJob]
    error: InpError | None
    encoding: str = "utf-8"
    newline: str = "\n"


def _refused(reason: str) -> InpError:
    return InpError(0, FiscalError(Code.CONFIG, reason))


def _read(path: Path, vat_rates: dict[str, int] | None, encoding: ScanEncoding) -> _Read:
    """Read, hash, decode and parse a claimed file (in a worker thread: a big file must not stall the loop)."""
    try:
        f = open_input(path)
    except Refused as exc:
        return _Read("", [], _refused(f"{shown(path.name.removesuffix(PROCESSING))}: {exc}"))
    with f:
        data = f.read(MAX_BYTES + 1)
        digest = hashlib.sha256(data)
        if len(data) > MAX_BYTES:
            size = len(data)
            while chunk := f.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
            too_big = _refused(f"file: {size} bytes, more than the {MAX_BYTES} an INP file may have")
            return _Read(digest.hexdigest(), [], too_big, *_text_form(data, encoding))
    try:
        decoded = decode(data, encoding)
    except InpError as exc:
        return _Read(digest.hexdigest(), [], exc, *_text_form(data, encoding))
    try:
        jobs, error = parse_inp(decoded.text, vat_rates), None
    except InpError as exc:
        jobs, error = [], exc
    return _Read(digest.hexdigest(), jobs, error, decoded.encoding, decoded.newline)


def _error_line(job: InpJob, body: dict[str, Any]) -> int:
    """The file line a device error points at: the receipt line of ``details.line_index``, else the job's."""
    index = (body.get("details") or {}).get("line_index")
    if isinstance(index, int) and 0 <= index < len(job.line_numbers):
        return job.line_numbers[index]
    return job.line


def _text_form(data: bytes, setting: ScanEncoding) -> tuple[str, str]:
    """Encoding and line end for the error comment of a file that was not decoded (too big, not text): the
    setting's encoding (UTF-8 when the file has a BOM), or under ``auto`` UTF-8 if the bytes read are (the start
    of) UTF-8, else Windows-1250."""
    newline = "\r\n" if b"\r\n" in data else "\n"
    if data.startswith(BOM):
        return "utf-8", newline
    if setting != "auto":
        return setting, newline
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return "cp1250", newline
    return "utf-8", newline


def _write_results(folder: Path, claimed: Path, name: str, outcome: res.FileOutcome, redo: bool) -> None:
    """Answer first, then the command file out of the scan folder (blocking file I/O: run in a thread).

    A failed file is copied to BonERR with the error comment after its content, and the claimed file removed:
    the claimed file is never written to. A file that may not be read (a link, not a regular file, not
    readable) gets only the comment."""
    answers = res.result_dir(folder, res.ANSWER_DIR)
    target = res.result_dir(folder, res.OK_DIR if outcome.ok else res.ERR_DIR)
    res.write_new(answers, name, res.answer_text(outcome).encode("utf-8"), redo=redo)
    if outcome.error is None:
        res.move(claimed, target, name)
        return
    comment = res.comment_line(outcome)
    try:
        source = open_input(claimed)
    except (Refused, FileNotFoundError):
        res.write_new(target, name, comment, redo=redo)
    else:
        with source:
            if res.ends_open(source):
                comment = outcome.newline.encode("ascii") + comment
            res.write_new(target, name, comment, redo=redo, head=source)
    res.remove(claimed)


class DeviceInp:
    """The INP interface of one fiscal device: its folder watch and the worker running its command files."""

    def __init__(self, service: InpService, device_id: str, folder: str, encoding: ScanEncoding) -> None:
        self.service = service
        self.manager = service.manager
        self.device_id = device_id
        self.folder = folder
        self.encoding = encoding  # may change while the device keeps its folder
        self.watch = FolderWatch(Path(folder).expanduser(), self._settle_s, self._on_watch)
        self._tasks: list[asyncio.Task[None]] = []
        self._file_task: asyncio.Task[None] | None = None  # the file (or recovery) the worker is on
        self._finishing: dict[str, asyncio.Task[None]] = {}  # claimed name -> recording and writing its results
        self._watch_error: str | None = None  # the folder cannot be watched (watcher.py)
        self._work_error: str | None = None  # the store or the result folders failed: claiming paused
        self._retry_s = 0.0
        self._recovery_due = False
        self._noted: set[tuple[str, str]] = set()  # (name, why) already logged once: no log line per rescan
        self._stopped = False

    def _settle_s(self) -> float:
        return self.manager.settings.inp_settle_ms / 1000

    def _on_watch(self, error: str | None) -> None:
        self._watch_error = error
        self._show()

    def _show(self) -> None:
        """``error`` while the folder cannot be watched or a failure is not yet resolved, else ``watching``."""
        error = self._watch_error or self._work_error
        self.service.show(self.device_id, InpStatus("error" if error else "watching", self.folder, error))

    def _note(self, name: str, why: str, message: str, *args: object) -> None:
        """Log ``message`` once per file name and reason (a file left alone is seen again at every rescan)."""
        if (name, why) not in self._noted:
            self._noted.add((name, why))
            log.warning(message, *args)

    def start(self) -> None:
        self._tasks = [self.service.spawn(self.watch.run(), f"inp-watch-{self.device_id}"),
                       self.service.spawn(self._work(), f"inp-worker-{self.device_id}")]

    async def stop(self) -> None:
        """Stop watching; files already claimed may finish (up to STOP_WAIT_S), else recovery resolves them."""
        self._stopped = True
        for running in self._tasks:
            running.cancel()
        for running in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await running
        self.watch.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_WAIT_S
        while pending := {t for t in (self._file_task, *self._finishing.values()) if t is not None and not t.done()}:
            # the last file, once run, hands its results to a new task: wait until none is left
            _, stuck = await asyncio.wait(pending, timeout=max(0.0, deadline - loop.time()))
            if stuck:  # stuck on the device: recovery resolves the file at the next start
                for task in stuck:
                    task.cancel()
                await asyncio.wait(stuck)
                return

    # -- the worker ---------------------------------------------------------------------------------------------
    async def _work(self) -> None:
        """One file at a time in the order they settled; each file's results are written while the next runs."""
        while True:
            name = await self.watch.queue.get()
            if name is None:
                self._recovery_due = False
                self._file_task = self._track(self._recover(), RECOVERY)
            else:
                self.watch.taken(name)
                self._file_task = self._track(self._take(name), name)
            await asyncio.wait({self._file_task})

    def _track(self, work: Coroutine[Any, Any, None], what: str) -> asyncio.Task[None]:
        task = asyncio.create_task(work, name=f"inp-{self.device_id}-{what}")
        task.add_done_callback(partial(self._ended, what))
        return task

    def _ended(self, what: str, task: asyncio.Task[None]) -> None:
        """A failure of the folder or the store: show it until a recovery, retried later, resolves what is left."""
        if task.cancelled() or self._stopped:
            return
        error = task.exception()
        if error is None:
            if what == RECOVERY and self._work_error is not None:
                self._retry_s = 0.0
                self._work_error = None
                self._show()
            return
        message = f"{type(error).__name__}: {error}"
        if message != self._work_error:  # the same failure again is not logged again
            log.error("INP on device %s: %s failed", self.device_id, shown(what), exc_info=error)
        self._work_error = message
        self._show()
        if not self._recovery_due:
            self._recovery_due = True
            self._retry_s = min(max(self._retry_s * 2, 0.5), RETRY_MAX_S)
            asyncio.get_running_loop().call_later(self._retry_s, self.watch.queue.put_nowait, None)

    async def _take(self, name: str) -> None:
        """Claim ``name`` and run it, unless it is gone, not a file, or another instance claims it first."""
        if self._work_error is not None:  # paused: the recovery that resolves the failure takes the file then
            return
        folder = self.watch.real
        problem = name_problem(name)
        claim_name = name if problem is None else safe_name(name)
        earlier = self._finishing.get(claim_name)
        if earlier is not None:  # the previous file of that name is still on its way out of the folder
            await asyncio.wait({earlier})
        path, claimed = folder / name, folder / (claim_name + PROCESSING)
        looked = await asyncio.to_thread(_look, path, claimed)
        if looked is None:
            return
        if isinstance(looked, _Aside):
            self._note(name, looked.why, "INP: %s %s", shown(str(path)), looked.text)
            return
        refused = None
        if problem is not None:
            self._note(name, "name", "INP: %s: %s; answered as %s", shown(str(path)), problem, claim_name)
            error = FiscalError(Code.CONFIG, f"{shown(name)}: {problem}; command file names must be UTF-8 text of "
                                             f"at most {MAX_NAME_BYTES} bytes (answered as {claim_name})")
            refused = res.FileOutcome(0, error=res.FileError(int(error.code), error.message(self._language), 0))
        claim = Claim(uuid.uuid4().hex, self.device_id, str(folder), claim_name, looked, "claimed", None, None)
        db = self.manager.db
        await db.write(partial(inp_claims.insert, claim_id=claim.id, device_id=self.device_id, folder=claim.folder,
                               name=claim_name, file_id=claim.file_id,
                               refused=None if refused is None else refused.to_json()))
        try:
            await asyncio.to_thread(os.rename, path, claimed)
        except OSError as exc:
            await db.write(partial(inp_claims.delete, claim_id=claim.id))
            if isinstance(exc, FileNotFoundError):  # another instance renamed it first
                return
            if isinstance(exc, PermissionError):  # e.g. its writer still holds it (Windows): the next rescan
                self._note(name, "held", "INP: %s cannot be claimed yet (%s); tried again", shown(str(path)),
                           exc.strerror or exc)
                return
            raise  # shown as INP error, retried by the next recovery
        self._noted -= {(name, why) for why in ("waiting", "held", "name")}  # a later file of that name is new
        if refused is not None:
            claim = replace(claim, state="done", outcome=refused.to_json())
        await self._run(claim, claimed, redo=False)

    @property
    def _language(self) -> Language:
        return self.manager.settings.language

    async def _run(self, claim: Claim, claimed: Path, redo: bool) -> None:
        """Run a claimed file (or take its outcome on record), then hand its results to a task of their own."""
        if claim.state == "done" and claim.outcome is not None:
            outcome, sha256 = res.FileOutcome.from_json(claim.outcome), None
        else:
            outcome, sha256 = await self._execute(claim, claimed)
        if len(self._finishing) >= MAX_FINISHING:
            await asyncio.wait(set(self._finishing.values()), return_when=asyncio.FIRST_COMPLETED)
        task = self._track(self._complete(claim, claimed, outcome, sha256, redo), claim.name)
        self._finishing[claim.name] = task
        task.add_done_callback(partial(self._finished, claim.name))

    def _finished(self, name: str, task: asyncio.Task[None]) -> None:
        if self._finishing.get(name) is task:
            del self._finishing[name]

    async def _complete(self, claim: Claim, claimed: Path, outcome: res.FileOutcome, sha256: str | None,
                        redo: bool) -> None:
        """Store the outcome (unless it is on record already), then write the result files; a claimed file
        another program holds open is moved or removed again later (the results written stay as they are)."""
        if sha256 is not None:
            await self.manager.db.write(partial(inp_claims.finish, claim_id=claim.id, sha256=sha256,
                                                outcome=outcome.to_json()))
        delay = HELD_RETRY_FIRST_S
        while True:
            try:
                await asyncio.to_thread(_write_results, Path(claim.folder), claimed, claim.name, outcome, redo)
                break
            except res.Held as held:
                self._note(claim.name, "held", "INP %s/%s: %s; tried again", claim.folder, claim.name, held)
            await asyncio.sleep(delay)
            delay, redo = min(delay * 2, RETRY_MAX_S), True
        self._noted.discard((claim.name, "held"))
        log.info("INP %s/%s -> %s", claim.folder, claim.name, "BonOK" if outcome.ok else "BonERR")

    async def _execute(self, claim: Claim, claimed: Path) -> tuple[res.FileOutcome, str]:
        language = self._language
        # a register still connecting (devices start concurrently) has no VAT table yet: wait for it a while,
        # else answer 1004 rather than judge the file against empty rates
        ready = await self.manager.wait_ready(self.device_id, DEVICE_READY_WAIT_S)
        handle = next((h for h in self.manager.handles("fiscal") if h.id == self.device_id), None)
        read = await asyncio.to_thread(_read, claimed, handle.vat_rates if handle is not None else None,
                                       self.encoding)
        if not ready and handle is not None:
            down = FiscalError(Code.CONNECTION, f"device {self.device_id} is {handle.status.text(language)}")
            return res.FileOutcome(0, error=res.FileError(int(down.code), down.message(language), 0),
                                   encoding=read.encoding, newline=read.newline), read.sha256
        if read.error is not None:
            error = read.error.error
            return res.FileOutcome(0, error=res.FileError(int(error.code), error.message(language), read.error.line),
                                   encoding=read.encoding, newline=read.newline), read.sha256
        outcome = res.FileOutcome(len(read.jobs), encoding=read.encoding, newline=read.newline)
        for index, job in enumerate(read.jobs):
            op = Operation(self.device_id, OPERATIONS[job.operation], job.params)
            key = f"inp:{claim.id}:{index}"
            answer = await self.manager.execute(op, idem_key=key, source="inp", bounded=False)
            while answer.body["status"] == Code.OPERATION_IN_PROGRESS:  # this key still runs here: wait for
                answer = await self.manager.execute(op, idem_key=key, source="inp", bounded=False)  # it, never BonERR
            if not answer.ok:
                outcome.error = res.FileError(int(answer.body["status"]), str(answer.body["error"]),
                                              _error_line(job, answer.body))
                break
            outcome.results.append(res.JobResult(job.operation, answer.body["result"]))
        return outcome, read.sha256

    # -- recovery -----------------------------------------------------------------------------------------------
    async def _recover(self) -> None:
        """Resolve the ``.processing`` files this instance claimed, then take the command files present.

        Fails (and is retried) unless every pending result was written and the result folders are usable, so
        an INP error stays shown until its cause is gone."""
        if self._finishing:  # results still being written are no left-overs
            await asyncio.wait(set(self._finishing.values()))
        folder = self.watch.real
        db = self.manager.db
        keep: list[str] = []
        for entry_name, claimed_id in await asyncio.to_thread(_claimed_files, folder):
            name = entry_name.removesuffix(PROCESSING)
            claim = await db.read(partial(inp_claims.open_claim, device_id=self.device_id, folder=str(folder),
                                          name=name, file_id=claimed_id))
            if claim is None:
                self._note(entry_name, "other", "INP: %s is not a claim of this instance; left alone",
                           shown(str(folder / entry_name)))
                continue
            keep.append(claim.id)
            log.warning("INP: resolving %s left by a stop (%s)", shown(str(folder / entry_name)), claim.state)
            await self._run(claim, folder / entry_name, redo=True)
        if self._finishing:
            done, _ = await asyncio.wait(set(self._finishing.values()))
            for task in done:
                if not task.cancelled() and (error := task.exception()) is not None:
                    raise error
        await asyncio.to_thread(res.check_result_dirs, folder)
        await db.write(partial(inp_claims.resolve_others, device_id=self.device_id, folder=str(folder), keep=keep))
        await asyncio.to_thread(res.sweep_temps, folder, TEMP_MAX_AGE_S)
        for name, _ in await asyncio.to_thread(scan_files, folder):
            if not self.watch.waiting(name):
                self.watch.touch(name)


@dataclass(frozen=True)
class _Aside:
    why: str  # the reason, to log it once
    text: str  # the log line's words


def _look(path: Path, claimed: Path) -> str | _Aside | None:
    """Before a claim: the file's identity, or why it is left alone (:class:`_Aside`), or None when it is gone
    (blocking: run in a thread)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode)):  # a folder, FIFO, socket or device
        return _Aside("aside", "is not a regular file (a folder, a FIFO or a device); left alone")
    if os.path.lexists(claimed):
        return _Aside("waiting", f"waits until {shown(claimed.name)} is resolved")
    return file_id(path)


def _claimed_files(folder: Path) -> list[tuple[str, str]]:
    """The ``.processing`` files in ``folder`` with their identities, taken from ``os.lstat``."""
    found: list[tuple[str, str]] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.endswith(PROCESSING) and is_command_name(entry.name.removesuffix(PROCESSING)):
                with contextlib.suppress(OSError):
                    found.append((entry.name, file_id(folder / entry.name)))
    return sorted(found)


def _folder_of(config: DeviceConfig | None) -> str | None:
    if not isinstance(config, FiscalDeviceConfig) or not config.enabled:
        return None
    return (config.scan_folder or "").strip() or None


class InpService:
    """The INP interface of every fiscal device; follows device changes through ``manager.device_listeners``."""

    def __init__(self, manager: DeviceManager) -> None:
        self.manager = manager
        self.devices: dict[str, DeviceInp] = {}
        self.statuses: dict[str, InpStatus] = {}
        self.tasks: set[asyncio.Task[None]] = set()  # every device's watch and worker

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(work, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def start(self) -> None:
        retention = self.manager.settings.idempotency_retention_days * 86400
        await self.manager.db.write(partial(inp_claims.purge, older_than=time.time() - retention), long=True)
        for handle in self.manager.handles("fiscal"):
            await self.configure(handle.id, handle.config)
        self.manager.device_listeners.append(self.configure)

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.manager.device_listeners.remove(self.configure)
        for device in list(self.devices.values()):
            await device.stop()
        self.devices.clear()

    async def configure(self, device_id: str, config: DeviceConfig | None) -> None:
        """(Re)start, keep or stop the device's folder watch for its new configuration (None: removed)."""
        if config is not None and not isinstance(config, FiscalDeviceConfig):
            return
        folder = _folder_of(config)
        current = self.devices.get(device_id)
        if current is not None and current.folder == folder:
            assert isinstance(config, FiscalDeviceConfig)
            current.encoding = config.scan_encoding  # for the next file read
            self.show(device_id, self.statuses[device_id])  # the device's handle is new: show the state on it
            return
        if current is not None:
            await current.stop()
            del self.devices[device_id]
        if folder is None:
            if config is None:
                self.statuses.pop(device_id, None)
            else:
                self.show(device_id, InpStatus())
            return
        assert isinstance(config, FiscalDeviceConfig)
        device = DeviceInp(self, device_id, folder, config.scan_encoding)
        self.devices[device_id] = device
        self.show(device_id, InpStatus("watching", folder))  # until the watch finds the folder missing
        device.start()

    def show(self, device_id: str, status: InpStatus) -> None:
        """Make ``status`` the device's INP state in its views; a change is published as a device_status event."""
        previous = self.statuses.get(device_id)
        self.statuses[device_id] = status
        handle = next((h for h in self.manager.handles("fiscal") if h.id == device_id), None)
        if handle is None:
            return
        handle.extras["inp"] = status.to_json()
        if previous is not None and previous != status:
            info = handle.status
            lang = self.manager.settings.language
            self.manager.events.publish(Event("device_status", device_id, {
                "device_id": device_id, "kind": "fiscal", "status": info.status.value,
                "status_text": info.text(lang), "previous_status": info.status.value, "inp": status.to_json()}))
