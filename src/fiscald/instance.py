"""The server of a data dir: the lock it holds while it runs and the record of where it listens (docs/deployment.md,
"One server per data dir").

- ``server.lock``: an OS file lock (``flock`` on POSIX, ``msvcrt.locking`` on Windows), taken by ``fiscald serve``
  and the Windows service before they open the database and held until the process ends. The OS drops it when the
  process dies, however it dies, so a lock that can be taken means that no server runs on the data dir, whatever
  record was left behind. The file itself stays (removing a lock file races with the next server taking it).
- ``server.json``: address, port, pid, instance id, version and start time, written atomically once the server
  listens and removed when it stops cleanly. The instance id is random for every start and the server answers it
  (the ``X-Fiscald-Instance`` header of ``GET /``, ``instance_id`` in ``/health`` and ``/manage/get_version``), so a
  command can tell the data dir's server from any other program on the same port.

Nothing here creates a file unless it is asked to hold the lock: probing and reading leave the data dir as it is.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from fiscald import __version__

LOCK_FILE = "server.lock"
RECORD_FILE = "server.json"
INSTANCE_HEADER = "X-Fiscald-Instance"
CLAIM_WAIT_S = 2.0  # a command probing the lock holds it for an instant: a starting server tries again this long
RETRY_S = 0.05
WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def _try_lock(file: IO[bytes], exclusive: bool) -> bool:
    """Take the lock of ``file`` without waiting; False when another open file (in any process) holds it."""
    if sys.platform == "win32":
        import msvcrt

        file.seek(0)
        try:
            msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)  # Windows has no shared lock: byte 0, exclusive
        except OSError:
            return False
        return True
    else:
        import fcntl

        try:
            fcntl.flock(file.fileno(), (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


def _unlock(file: IO[bytes]) -> None:
    if sys.platform == "win32":
        import msvcrt

        file.seek(0)
        with contextlib.suppress(OSError):
            msvcrt.locking(file.fileno(), msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(file.fileno(), fcntl.LOCK_UN)


@dataclass(frozen=True)
class ServerRecord:
    """Where the server of a data dir listens, as it wrote it."""

    host: str
    port: int
    pid: int
    instance_id: str
    version: str
    started_at: str

    @property
    def url(self) -> str:
        """The address a command on this machine reaches it at (a wildcard bind is reached on loopback)."""
        host = WILDCARDS.get(self.host, self.host)
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    def describe(self) -> str:
        return f"pid {self.pid}, listening on {self.host}:{self.port}, started {self.started_at}"


def read_record(folder: Path) -> ServerRecord | None:
    """The record in ``folder``, or None when there is none (or it is not one of ours)."""
    try:
        raw = json.loads((folder / RECORD_FILE).read_bytes())
        return ServerRecord(host=str(raw["host"]), port=int(raw["port"]), pid=int(raw["pid"]),
                            instance_id=str(raw["instance_id"]), version=str(raw["version"]),
                            started_at=str(raw["started_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_held(folder: Path) -> bool | None:
    """Whether a process holds the lock of ``folder`` (None when the lock file cannot be opened to tell)."""
    try:
        file = (folder / LOCK_FILE).open("rb")
    except FileNotFoundError:
        return False
    except OSError:
        return None
    with file:
        if not _try_lock(file, exclusive=False):  # shared: two commands probing at once do not see each other
            return True
        _unlock(file)
        return False


class Claim:
    """The lock of a data dir, held by this process until :meth:`release` (or until it ends)."""

    def __init__(self, folder: Path, file: IO[bytes]) -> None:
        self.folder = folder
        self.instance_id = uuid.uuid4().hex
        self._file: IO[bytes] | None = file
        self._recorded = False

    def record(self, host: str, port: int) -> ServerRecord:
        """Say where this process listens (atomically: a reader sees the old record or the new one, whole)."""
        record = ServerRecord(host, port, os.getpid(), self.instance_id, __version__,
                              dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds"))
        temporary = self.folder / f"{RECORD_FILE}.{os.getpid()}.tmp"
        temporary.write_bytes(json.dumps(asdict(record), indent=2).encode() + b"\n")
        for attempt in range(20):  # Windows refuses to replace a file a reader has open at that instant
            try:
                os.replace(temporary, self.folder / RECORD_FILE)
                break
            except PermissionError:
                if attempt == 19:
                    raise
                time.sleep(RETRY_S)
        self._recorded = True
        return record

    def unrecord(self) -> None:
        """Remove the record (a clean stop); a record another instance wrote is left alone."""
        if not self._recorded:
            return
        self._recorded = False
        found = read_record(self.folder)
        if found is not None and found.instance_id == self.instance_id:
            with contextlib.suppress(OSError):
                (self.folder / RECORD_FILE).unlink()

    def release(self) -> None:
        self.unrecord()
        if self._file is not None:
            with contextlib.suppress(OSError):
                _unlock(self._file)
            self._file.close()
            self._file = None

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def claim(folder: Path, wait_s: float = CLAIM_WAIT_S) -> Claim | None:
    """Hold the lock of ``folder`` (creating the folder and the lock file); None when another process holds it.

    Raises OSError when the folder cannot be created or the lock file opened."""
    folder.mkdir(parents=True, exist_ok=True)
    file = (folder / LOCK_FILE).open("a+b")
    deadline = time.monotonic() + wait_s
    while not _try_lock(file, exclusive=True):
        if time.monotonic() >= deadline:
            file.close()
            return None
        time.sleep(RETRY_S)
    return Claim(folder, file)
