"""Command files as inputs: names that cannot be used as they are, and opening a claimed file safely.

- A name fiscald cannot store or extend (not valid UTF-8 text, or so long that ``<name>.processing`` and a
  numbered result name would pass the usual 255-byte limit) is claimed and answered under
  :func:`safe_name` instead, with :func:`name_problem` as the reason it is refused.
- :func:`open_input` opens a claimed file for reading only if it is a regular file with no other name (no
  symbolic link, no hard link to a file elsewhere, no FIFO or device), in binary mode on every platform.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import BinaryIO

MAX_NAME_BYTES = 240  # + ".processing" (11) or a result number (".99999") stays within 255 bytes
_TAG_HEX = 8


class Refused(Exception):
    """A claimed file that must not be read: why, in words for the error comment."""


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be used for a claim and its result files, or None when it can."""
    try:
        size = len(name.encode("utf-8"))  # undecodable bytes (POSIX) / lone UTF-16 halves (Windows) fail here
    except UnicodeEncodeError:
        return "its name is not valid UTF-8 text"
    if size > MAX_NAME_BYTES:
        return f"its name is {size} bytes long, more than the {MAX_NAME_BYTES} an INP file name may have"
    return None


def safe_name(name: str) -> str:
    """A usable stand-in for a name :func:`name_problem` refuses: the readable part of its stem, cut to fit,
    then ``~`` and 8 hex digits of its hash (two such names never share one), then its extension."""
    stem, _, ext = name.rpartition(".")
    tag = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:_TAG_HEX]
    clean = "".join("_" if "\ud800" <= c <= "\udfff" else c for c in stem)
    budget = MAX_NAME_BYTES - len(f"~{tag}.{ext}".encode())
    clean = clean.encode("utf-8")[:budget].decode("utf-8", "ignore")
    return f"{clean}~{tag}.{ext}"


def shown(name: str, limit: int = 60) -> str:
    """``name`` for a message or a log line: quoted, undecodable parts escaped, a long one shortened."""
    return repr(name if len(name) <= limit else name[:limit] + "…")


def read_flags() -> int:
    """Flags to open an input: binary (Windows would translate CRLF and stop at 0x1A in text mode), never
    through a link where the platform can refuse one, and without blocking on a FIFO."""
    return (os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
            | getattr(os, "O_NONBLOCK", 0))


def open_input(path: Path) -> BinaryIO:
    """The claimed file ``path`` open for reading, or :class:`Refused` when it is not a file of its own."""
    if stat.S_ISLNK(os.lstat(path).st_mode):  # also where there is no O_NOFOLLOW (Windows)
        raise Refused("a symbolic link; command files must be regular files in the scan folder")
    try:
        fd = os.open(path, read_flags())
    except OSError as exc:
        raise Refused(f"cannot be read ({exc.strerror or exc})") from None
    f = os.fdopen(fd, "rb")
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        f.close()
        raise Refused("not a regular file")
    if info.st_nlink > 1:  # a hard link: the same file has a name elsewhere, maybe outside the folder
        f.close()
        raise Refused(f"a file with {info.st_nlink} hard links; command files must be regular files of their own "
                      "in the scan folder")
    return f


def file_id(path: Path) -> str:
    """A file's identity in its claim, from ``os.lstat`` everywhere (``os.DirEntry.stat()`` has no inode on
    Windows): a rename keeps it, a new file of the same name has its own."""
    info = os.lstat(path)
    return f"{info.st_dev}:{info.st_ino}"
