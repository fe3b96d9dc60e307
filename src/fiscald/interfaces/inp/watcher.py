"""Watching one INP scan folder (shared/spec/inp.md "Setup and lifecycle").

:class:`FolderWatch` follows a folder with watchfiles (inotify / FSEvents / ReadDirectoryChangesW; no polling
written here) and puts each command file's name on :attr:`FolderWatch.queue` once nothing changed it for the
settle delay (setting ``inp_settle_ms``): every change re-arms the file's timer, so a file written slowly in
chunks is taken only after its writer has been quiet that long. Only the folder itself is watched (not its
``Bon*`` result subfolders), and only names ending in ``.bon``, ``.inp`` or ``.txt`` in any letter case count.

Whenever the watch is (re)established — at start and after the folder came back — ``None`` is put on the queue
first, so its consumer resolves left-over ``.processing`` files before any other file, and the files already
present (:func:`scan_files`) start their settle delay, oldest first. A folder that disappears, is moved
away, stops being a folder or cannot be opened ends the watch: the state becomes ``error`` and the watch is
retried with a growing delay (0.2 s doubling up to 5 s).

Notifications are an accelerator, not the only source: every :data:`RESCAN_S` the folder is listed again; a
command file not waiting already starts its settle delay (a new file, or one left alone the last time, e.g.
still locked by its writer) and one that changed since the last listing (size, modification time) restarts
it, so a network share that delivers no notifications still works. Every call that touches the file system
(the folder check every 200 ms, the listings) runs in a worker thread: a slow share never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path

from watchfiles import Change, awatch
from watchfiles._rust_notify import WatchfilesRustInternalError

log = logging.getLogger("fiscald.inp")

COMMAND_SUFFIXES = (".bon", ".inp", ".txt")
PROCESSING = ".processing"
RETRY_FIRST_S = 0.2
RETRY_MAX_S = 5.0
RESCAN_S = 2.0  # the folder is listed again this often (a share without change notifications)
_TICK_MS = 200  # the watch also yields when idle this long: the moment to check that the folder is still there
_STEP_MS = 5  # changes are handed over once the folder was quiet this long ...
_DEBOUNCE_MS = 50  # ... or at the latest after this long


def is_command_name(name: str) -> bool:
    return name.lower().endswith(COMMAND_SUFFIXES) and len(name) > 4 and "/" not in name and "\\" not in name


class FolderError(Exception):
    """The scan folder cannot be watched: missing, not a folder, or not accessible."""


def check_folder(folder: Path) -> Path:
    """The folder's real path if it is a folder this process can list, create files in and rename in."""
    try:
        real = folder.resolve(strict=True)
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        raise FolderError(f"scan_folder {str(folder)!r} does not exist") from None
    except OSError as exc:
        raise FolderError(f"scan_folder {str(folder)!r}: {exc.strerror}") from None
    if not stat.S_ISDIR(mode):
        raise FolderError(f"scan_folder {str(folder)!r} is not a folder")
    if not os.access(real, os.R_OK | os.W_OK | os.X_OK):
        raise FolderError(f"scan_folder {str(folder)!r}: no permission to read and write it")
    return real


Signature = tuple[int, int]  # size, modification time (ns): a change between two listings


def scan_files(folder: Path) -> list[tuple[str, Signature]]:
    """Command files in ``folder`` (regular files or symlinks, which are refused later), oldest first."""
    found: list[tuple[int, str, Signature]] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if not is_command_name(entry.name):
                continue
            with contextlib.suppress(OSError):
                info = entry.stat(follow_symlinks=False)  # type and times: right on every platform
                if stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode):
                    found.append((info.st_mtime_ns, entry.name, (info.st_size, info.st_mtime_ns)))
    return [(name, signature) for _, name, signature in sorted(found)]


class FolderWatch:
    def __init__(self, folder: Path, settle_s: Callable[[], float], on_state: Callable[[str | None], None]) -> None:
        """``on_state(None)`` when watching, ``on_state(message)`` when the folder cannot be watched."""
        self.folder = folder
        self.real = folder
        self.settle_s = settle_s
        self.on_state = on_state
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._queued: set[str] = set()
        self._listed: dict[str, Signature] = {}  # the last listing (a rescan touches what is new or changed)
        self._delay = RETRY_FIRST_S

    # -- settle timers ------------------------------------------------------------------------------------------
    def touch(self, name: str) -> None:
        """A change to ``name``: (re)start its settle delay, unless it is already waiting to be claimed."""
        if name in self._queued:
            return
        old = self._timers.pop(name, None)
        if old is not None:
            old.cancel()
        self._timers[name] = asyncio.get_running_loop().call_later(self.settle_s(), self._settled, name)

    def _settled(self, name: str) -> None:
        del self._timers[name]
        self._queued.add(name)
        self.queue.put_nowait(name)

    def taken(self, name: str) -> None:
        """The consumer took ``name`` off the queue: further changes to that name are a new file."""
        self._queued.discard(name)

    def waiting(self, name: str) -> bool:
        return name in self._timers or name in self._queued

    def rescanned(self, files: list[tuple[str, Signature]]) -> None:
        """A new listing of the folder: touch each command file not waiting already (new, or left alone the last
        time: tried again), and re-arm one that changed since the last listing."""
        for name, signature in files:
            changed = name in self._listed and self._listed[name] != signature
            if changed or not self.waiting(name):
                self.touch(name)
        self._listed = dict(files)

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    # -- the watch ----------------------------------------------------------------------------------------------
    async def run(self) -> None:
        """Watch until cancelled, re-establishing the watch whenever the folder went away and came back."""
        self._delay = RETRY_FIRST_S
        while True:
            try:
                await self._watch()
            except FolderError as exc:
                self._failed(str(exc))
            except Exception as exc:  # OSError from the OS watch, or anything unexpected: retried all the same
                if _undecodable_name(exc):  # the folder is fine: watch again at once (the listing finds the file)
                    log.debug("INP watch of %s: a file name that is not UTF-8; watching again", self.folder)
                    continue
                log.exception("INP watch of %s failed", self.folder)
                self._failed(f"scan_folder {str(self.folder)!r}: {exc}")
            await asyncio.sleep(self._delay)
            self._delay = min(self._delay * 2, RETRY_MAX_S)

    def _failed(self, message: str) -> None:
        log.warning("INP watch stopped: %s", message)
        self.on_state(message)

    async def _watch(self) -> None:
        self.real = real = await asyncio.to_thread(check_folder, self.folder)
        self.on_state(None)
        established = False
        watch = awatch(real, recursive=False, step=_STEP_MS, debounce=_DEBOUNCE_MS, rust_timeout=_TICK_MS,
                       yield_on_timeout=True)
        loop = asyncio.get_running_loop()
        next_scan = 0.0
        async with contextlib.aclosing(watch) as changes_seen:
            async for changes in changes_seen:
                if not established:  # the watch is in place: nothing new can be missed from here on
                    established = True
                    self._delay = RETRY_FIRST_S
                    self.queue.put_nowait(None)
                    self._listed = {}
                if loop.time() >= next_scan:  # at once, then every RESCAN_S
                    next_scan = loop.time() + RESCAN_S
                    self.rescanned(await asyncio.to_thread(scan_files, real))
                names: set[str] = set()
                for change, path in changes:
                    changed = Path(path)
                    if changed == real and change == Change.deleted:
                        raise FolderError(f"scan_folder {str(self.folder)!r} was removed or moved")
                    if change != Change.deleted and changed.parent == real and is_command_name(changed.name):
                        names.add(changed.name)
                for name in await asyncio.to_thread(_oldest_first, real, names):
                    self.touch(name)
                if await asyncio.to_thread(check_folder, self.folder) != real:  # also every _TICK_MS when quiet
                    raise FolderError(f"scan_folder {str(self.folder)!r} now points elsewhere")


def _undecodable_name(error: BaseException) -> bool:
    """The watch library gave up on a change to a file whose name is not UTF-8 (it cannot report that path)."""
    if isinstance(error, BaseExceptionGroup):
        return any(_undecodable_name(e) for e in error.exceptions)
    return isinstance(error, WatchfilesRustInternalError) and "decode path" in str(error)


def _oldest_first(folder: Path, names: set[str]) -> list[str]:
    """A batch of changed names in the order they were last written (watchfiles hands over a set)."""
    if len(names) < 2:
        return list(names)

    def age(name: str) -> tuple[int, str]:
        try:
            return os.lstat(folder / name).st_mtime_ns, name
        except OSError:
            return 0, name

    return sorted(names, key=age)
