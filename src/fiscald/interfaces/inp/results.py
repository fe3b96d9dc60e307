"""INP results (shared/spec/inp.md "Results"): what a command file's outcome looks like on disk.

- :class:`FileOutcome` is the outcome of one command file: the results of the jobs that ran and the error
  that stopped it, if any. It is stored as JSON in the claim before any result file is written, so a crash
  between the two redoes exactly the same writes.
- :func:`answer_text` renders the ``BonANSWER`` file, :func:`comment_line` the line that follows a failed
  command file's content in its ``BonERR`` copy (the claimed file itself is never written to).
- :func:`write_new` / :func:`move` put a file into a result subfolder atomically and never over an existing
  name (``name.inp`` -> ``name.1.inp`` -> ``name.2.inp`` ...): content goes to a temp file in the same folder
  (mode 0666 less the umask), is fsynced, then hard-linked to the first free name (a link never replaces a
  file), and the folder is fsynced. Without hard links the name is reserved by an exclusive create instead.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any, BinaryIO

from fiscald.errors import Code, FiscalError

ANSWER_DIR = "BonANSWER"
OK_DIR = "BonOK"
ERR_DIR = "BonERR"
_AMOUNTS = frozenset({"payments"})  # objects whose values are cents (report totals by payment type)
_SKIPPED = frozenset({"text", "pos_transactions", "reports"})  # printouts and lists: not key=value material


@dataclass(frozen=True)
class JobResult:
    operation: str
    result: dict[str, Any]


@dataclass(frozen=True)
class FileError:
    code: int
    message: str
    line: int  # 1-based line of the command file, 0 when not tied to a line


@dataclass
class FileOutcome:
    jobs: int  # jobs the file holds (0 when it did not parse)
    results: list[JobResult] = field(default_factory=list)
    error: FileError | None = None
    encoding: str = "utf-8"  # the command file's, for the error comment BonERR appends: "utf-8" or "cp1250"
    newline: str = "\n"  # the command file's line end ("\r\n" when it has CRLF)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        return {
            "jobs": self.jobs,
            "results": [{"operation": r.operation, "result": r.result} for r in self.results],
            "error": None if self.error is None else {"code": self.error.code, "message": self.error.message,
                                                      "line": self.error.line},
            "encoding": self.encoding,
            "newline": self.newline,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileOutcome:
        error = data["error"]
        return cls(
            data["jobs"],
            [JobResult(r["operation"], r["result"]) for r in data["results"]],
            None if error is None else FileError(error["code"], error["message"], error["line"]),
            data.get("encoding", "utf-8"),
            data.get("newline", "\n"),
        )


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _pairs(prefix: str, data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """``key=value`` pairs of a result: money in decimal text without ``_cents`` (and the amounts by payment type),
    rates in percent without ``_basis_points``, nested objects flattened with ``_``, lists and printouts left out."""
    for key, value in data.items():
        if key in _SKIPPED or isinstance(value, list):
            continue
        if isinstance(value, dict) and key in _AMOUNTS:
            yield from ((f"{prefix}{key}_{k}", money(v)) for k, v in value.items() if isinstance(v, int))
        elif isinstance(value, dict):
            yield from _pairs(f"{prefix}{key}_", value)
        elif isinstance(value, bool):
            yield prefix + key, "true" if value else "false"
        elif isinstance(value, int) and key.endswith("_cents"):
            yield prefix + key.removesuffix("_cents"), money(value)
        elif isinstance(value, int) and key.endswith("_basis_points"):
            yield prefix + key.removesuffix("_basis_points"), money(value)
        else:
            yield prefix + key, "" if value is None else _one_line(str(value))


def answer_text(outcome: FileOutcome) -> str:
    """The ``BonANSWER`` file: ``status`` first; then ``code``/``message``/``line`` on error; then the results.

    A file with one job gives that job's fields as they are (``receipt_number=42``); a file with several
    says ``jobs=`` and ``done=`` and prefixes each job's fields with its 1-based number (``2.z_number=5``)."""
    lines = [f"status={'OK' if outcome.ok else 'ERROR'}"]
    if outcome.error is not None:
        lines += [f"code={outcome.error.code}", f"message={_one_line(outcome.error.message)}",
                  f"line={outcome.error.line}"]
    several = outcome.jobs > 1
    if several:
        lines += [f"jobs={outcome.jobs}", f"done={len(outcome.results)}"]
    for number, job in enumerate(outcome.results, start=1):
        prefix = f"{number}." if several else ""
        lines.append(f"{prefix}operation={job.operation}")
        lines += [f"{key}={value}" for key, value in _pairs(prefix, job.result)]
    return "\n".join(lines) + "\n"


def error_comment(error: FileError) -> str:
    return f"# ERROR line {error.line}: [{error.code}] {_one_line(error.message)}"


def comment_line(outcome: FileOutcome) -> bytes:
    """The error comment as one line in the command file's encoding and line ends (what BonERR appends)."""
    assert outcome.error is not None
    text = error_comment(outcome.error)
    encoded = text.encode("cp1250", errors="replace") if outcome.encoding == "cp1250" else text.encode("utf-8")
    return encoded + outcome.newline.encode("ascii")


# -- atomic, never-overwriting file placement ------------------------------------------------------------------


class Held(Exception):
    """A claimed file another program still holds open (Windows: WinError 32): moving or removing it is retried
    later; the folder is fine."""


def numbered(name: str, n: int) -> str:
    """``name`` for n == 0, else ``stem.n.ext`` (``bon.inp`` -> ``bon.1.inp``)."""
    if n == 0:
        return name
    stem, dot, ext = name.rpartition(".")
    return f"{stem}.{n}.{ext}" if dot and stem else f"{name}.{n}"


def _outside(sub: str) -> FiscalError:
    return FiscalError(Code.PERSISTENCE, f"{sub}: not a folder inside the scan folder (a link, a junction or a file)")


def _inside(folder: Path, sub: str) -> None:
    """``folder/sub`` is a real folder right there: not a link, and (Windows junctions look like folders to
    ``lstat`` and Windows has no O_NOFOLLOW) its resolved path is the scan folder's resolved path + ``sub``."""
    path = folder / sub
    try:
        mode = os.lstat(path).st_mode
        real, expected = path.resolve(strict=True), folder.resolve(strict=True) / sub
    except OSError as exc:
        raise FiscalError(Code.PERSISTENCE, f"{sub}: cannot use the result folder ({exc.strerror or exc})") from None
    if stat.S_ISLNK(mode) or not stat.S_ISDIR(mode) or os.path.normcase(real) != os.path.normcase(expected):
        raise _outside(sub)


def result_dir(folder: Path, sub: str) -> Path:
    """``folder/sub``, created on demand; a link, a junction or a file there is refused (results never leave
    the scan folder)."""
    path = folder / sub
    try:
        path.mkdir(exist_ok=True)
    except OSError as exc:
        raise FiscalError(Code.PERSISTENCE, f"{sub}: cannot create the result folder ({exc.strerror or exc})") from None
    _inside(folder, sub)
    return path


def check_result_dirs(folder: Path) -> None:
    """The result folders that exist are usable (:func:`result_dir`'s check, creating nothing)."""
    for sub in (ANSWER_DIR, OK_DIR, ERR_DIR):
        if os.path.lexists(folder / sub):
            _inside(folder, sub)


def _fsync_dir(path: Path) -> None:
    """Make a rename/link in ``path`` durable (POSIX; Windows cannot open a folder for it, NTFS journals it)."""
    if sys.platform == "win32":
        return
    fd = os.open(path, os.O_RDONLY)  # portable: posix only
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _create_flags() -> int:
    return os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)


def _reserve(folder: Path, name: str) -> Path:
    """Create the first free numbered ``name`` in ``folder`` empty and exclusively (never an existing file)."""
    for n in count():
        target = folder / numbered(name, n)
        try:
            os.close(os.open(target, _create_flags(), 0o666))
        except FileExistsError:
            continue
        return target
    raise AssertionError("unreachable")  # pragma: no cover - count() never ends


def _place(source: Path, folder: Path, name: str) -> Path:
    """Give ``source`` the first free numbered ``name`` in ``folder`` (or find it there already, after a crash).

    A hard link never replaces a file. Where the file system has no hard links (FAT/exFAT, many SMB shares) or
    refuses one (Linux ``protected_hardlinks`` for a file of another user), the name is reserved with an
    exclusive create and ``source`` renamed over that reservation: ``source`` is then gone."""
    for n in count():
        target = folder / numbered(name, n)
        try:
            os.link(source, target)
        except FileExistsError:
            if _same(source, target):
                return target
            continue
        except FileNotFoundError:
            raise
        except OSError:  # no hard links here: reserve + rename, still never over another file
            target = _reserve(folder, name)
            try:
                _release(os.replace, source, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(target)
                raise
        return target
    raise AssertionError("unreachable")  # pragma: no cover - count() never ends


def _release(action: Callable[..., None], *paths: Path) -> None:
    """Rename or remove a claimed file; another program holding it open is :class:`Held` (retried later)."""
    try:
        action(*paths)
    except PermissionError as exc:
        raise Held(f"{paths[0].name}: held open by another program ({exc.strerror or exc})") from None


def _same_content(path: Path, head: BinaryIO | None, data: bytes) -> bool:
    try:
        with open(path, "rb") as f:
            if head is not None:
                head.seek(0)
                while chunk := head.read(1 << 20):
                    if f.read(len(chunk)) != chunk:
                        return False
            return f.read(len(data) + 1) == data
    except OSError:
        return False


def _identical(folder: Path, name: str, head: BinaryIO | None, data: bytes) -> Path | None:
    """An existing numbered ``name`` in ``folder`` holding exactly ``head`` + ``data`` (a write a crash
    interrupted)."""
    for n in count():
        path = folder / numbered(name, n)
        if not os.path.lexists(path):
            return None
        if _same_content(path, head, data):
            return path
    raise AssertionError("unreachable")  # pragma: no cover - count() never ends


def temp_name(name: str) -> bool:
    """A temp file of :func:`write_new` (hidden, ``.tmp``): a crash can leave one behind."""
    return name.startswith(".") and name.endswith(".tmp")


def _new_temp(folder: Path, name: str) -> tuple[int, Path]:
    """A new hidden temp file in ``folder``, mode 0666 less the umask like any file a program creates."""
    while True:
        tmp = folder / f".{name[:40]}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, _create_flags(), 0o666), tmp
        except FileExistsError:
            continue


def sweep_temps(folder: Path, older_than_s: float) -> int:
    """Remove the temp files a crash left in ``folder``'s result subfolders, once older than ``older_than_s``
    (younger ones may belong to another instance sharing the folder, still writing)."""
    removed = 0
    limit = time.time() - older_than_s
    for sub in (ANSWER_DIR, OK_DIR, ERR_DIR):
        names: list[str] = []
        with contextlib.suppress(FileNotFoundError, NotADirectoryError), os.scandir(folder / sub) as entries:
            names = [entry.name for entry in entries if temp_name(entry.name)]
        for name in names:
            # gone meanwhile, or still held open by its writer (Windows): left for a later sweep
            with contextlib.suppress(FileNotFoundError, PermissionError):
                if os.lstat(folder / sub / name).st_mtime < limit:
                    os.unlink(folder / sub / name)
                    removed += 1
    return removed


def write_new(folder: Path, name: str, data: bytes, redo: bool = False, head: BinaryIO | None = None) -> Path:
    """Write ``head``'s content (if given) then ``data`` as a new file named like ``name`` in ``folder``,
    atomically, never overwriting.

    ``redo``: a crash may have left this very file written already; if so, keep it instead of adding a copy."""
    if redo:
        existing = _identical(folder, name, head, data)
        if existing is not None:
            return existing
    fd, tmp = _new_temp(folder, name)
    try:
        with os.fdopen(fd, "wb") as out:
            if head is not None:
                head.seek(0)
                shutil.copyfileobj(head, out, 1 << 20)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        target = _place(tmp, folder, name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _fsync_dir(folder)
    return target


def ends_open(f: BinaryIO) -> bool:
    """``f`` has content whose last line has no line end (the error comment then needs one first)."""
    size = f.seek(0, os.SEEK_END)
    if not size:
        return False
    f.seek(size - 1)
    return f.read(1) not in (b"\n", b"\r")


def move(source: Path, folder: Path, name: str) -> Path:
    """Move ``source`` into ``folder`` under the first free numbered ``name``; safe to repeat after a crash."""
    target = _place(source, folder, name)
    _fsync_dir(folder)
    if os.path.lexists(source):  # gone already when renamed over a reservation
        _release(os.unlink, source)
    _fsync_dir(source.parent)
    return target


def remove(claimed: Path) -> None:
    """The claimed file is answered: take it out of the scan folder."""
    with contextlib.suppress(FileNotFoundError):
        _release(os.unlink, claimed)
    _fsync_dir(claimed.parent)
