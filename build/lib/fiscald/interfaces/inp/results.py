"""INP results (shared/spec/inp.md "Results"): what a command file's outcome looks like on disk.

- :class:`FileOutcome` is the outcome of one command file: the results of the jobs that ran and the error
  that stopped it, if any. It is stored as JSON in the claim before any result file is written, so a crash
  between the two redoes exactly the same writes.
- :func:`answer_text` renders the ``BonANSWER`` file, :func:`error_comment` the line :func:`append_comment`
  adds to a failed command file before it moves to ``BonERR``.
- :func:`write_new` / :func:`move` put a file into a result subfolder atomically and never over an existing
  name (``name.inp`` -> ``name.1.inp`` -> ``name.2.inp`` ...): content goes to a temp file in the same folder,
  is fsynced, then hard-linked to the first free name (a link never replaces a file), and the folder is fsynced.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

from fiscald.errors import Code, FiscalError

ANSWER_DIR = "BonANSWER"
OK_DIR = "BonOK"
ERR_DIR = "BonERR"
_AMOUNTS = frozenset({"payments"})  # objects whose values are cents (report totals by payment type)
_SKIPPED = frozenset({"text", "pos_transactions", "reports"})  # printouts and lists: not key=value material
_SNIFF_BYTES = 16 * 1024 * 1024  # how much of a failed file decides the encoding of its error comment


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

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        return {
            "jobs": self.jobs,
            "results": [{"operation": r.operation, "result": r.result} for r in self.results],
            "error": None if self.error is None else {"code": self.error.code, "message": self.error.message,
                                                      "line": self.error.line},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileOutcome:
        error = data["error"]
        return cls(
            data["jobs"],
            [JobResult(r["operation"], r["result"]) for r in data["results"]],
            None if error is None else FileError(error["code"], error["message"], error["line"]),
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


# -- atomic, never-overwriting file placement ------------------------------------------------------------------


def numbered(name: str, n: int) -> str:
    """``name`` for n == 0, else ``stem.n.ext`` (``bon.inp`` -> ``bon.1.inp``)."""
    if n == 0:
        return name
    stem, dot, ext = name.rpartition(".")
    return f"{stem}.{n}.{ext}" if dot and stem else f"{name}.{n}"


def result_dir(folder: Path, sub: str) -> Path:
    """``folder/sub``, created on demand; a symlink there is refused (results never leave the scan folder)."""
    path = folder / sub
    try:
        path.mkdir(exist_ok=True)
        mode = os.lstat(path).st_mode
    except OSError as exc:
        raise FiscalError(Code.PERSISTENCE, f"{sub}: cannot create the result folder ({exc.strerror or exc})") from None
    if not stat.S_ISDIR(mode):
        raise FiscalError(Code.PERSISTENCE, f"{sub}: not a folder inside the scan folder (a link or a file)")
    return path


def _fsync_dir(path: Path) -> None:
    """Make a rename/link in ``path`` durable (POSIX; Windows cannot open a folder for it, NTFS journals it)."""
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _link_free(source: Path, folder: Path, name: str) -> Path:
    """Hard-link ``source`` to the first free numbered ``name`` in ``folder`` (or find it already linked)."""
    for n in count():
        target = folder / numbered(name, n)
        try:
            os.link(source, target)
        except FileExistsError:
            if _same(source, target):
                return target
            continue
        return target
    raise AssertionError("unreachable")  # pragma: no cover - count() never ends


def _identical(folder: Path, name: str, data: bytes) -> Path | None:
    """An existing numbered ``name`` in ``folder`` holding exactly ``data`` (a write a crash interrupted)."""
    for n in count():
        path = folder / numbered(name, n)
        try:
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                return path
        except FileNotFoundError:
            return None
    raise AssertionError("unreachable")  # pragma: no cover - count() never ends


def temp_name(name: str) -> bool:
    """A temp file of :func:`write_new` (hidden, ``.tmp``): a crash can leave one behind."""
    return name.startswith(".") and name.endswith(".tmp")


def sweep_temps(folder: Path, older_than_s: float) -> int:
    """Remove the temp files a crash left in ``folder``'s result subfolders, once older than ``older_than_s``
    (younger ones may belong to another instance sharing the folder, still writing)."""
    removed = 0
    limit = time.time() - older_than_s
    for sub in (ANSWER_DIR, OK_DIR, ERR_DIR):
        with contextlib.suppress(FileNotFoundError), os.scandir(folder / sub) as entries:
            for entry in entries:
                if temp_name(entry.name) and entry.stat(follow_symlinks=False).st_mtime < limit:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
                        removed += 1
    return removed


def write_new(folder: Path, name: str, data: bytes, redo: bool = False) -> Path:
    """Write ``data`` as a new file named like ``name`` in ``folder``, atomically, never overwriting.

    ``redo``: a crash may have left this very file written already; if so, keep it instead of adding a copy."""
    if redo:
        existing = _identical(folder, name, data)
        if existing is not None:
            return existing
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name[:40]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        target = _link_free(Path(tmp), folder, name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _fsync_dir(folder)
    return target


def append_comment(path: Path, comment: str) -> None:
    """Append ``comment`` on a line of its own to the claimed file ``path``, in the file's own encoding (UTF-8,
    else Windows-1250) and line ends, fsynced; a no-op when a crash left it appended already."""
    fd = os.open(path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "r+b") as f:
        head = f.read(_SNIFF_BYTES)  # every file small enough to be run is read whole, as the parser did
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < _SNIFF_BYTES)
            encoded = comment.encode("utf-8")
        except UnicodeDecodeError:  # a Windows-1250 file (inp.md "Encoding") stays one
            encoded = comment.encode("cp1250", errors="replace")
        line = encoded + (b"\r\n" if b"\r\n" in head else b"\n")
        size = f.seek(0, os.SEEK_END)
        if size >= len(line):
            f.seek(size - len(line))
            if f.read(len(line)) == line:
                return
        last = b""
        if size:
            f.seek(size - 1)
            last = f.read(1)
        f.seek(size)
        f.write((line[len(encoded):] if last not in (b"", b"\n", b"\r") else b"") + line)
        f.flush()
        os.fsync(f.fileno())


def move(source: Path, folder: Path, name: str) -> Path:
    """Move ``source`` into ``folder`` under the first free numbered ``name``; safe to repeat after a crash."""
    target = _link_free(source, folder, name)
    _fsync_dir(folder)
    os.unlink(source)
    _fsync_dir(source.parent)
    return target
