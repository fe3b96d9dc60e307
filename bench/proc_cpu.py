"""CPU time of a process, or of each of its threads, so far: user and system seconds from Linux's /proc (the
benches' one reader of it)."""

from __future__ import annotations

import os
from pathlib import Path


def _times(stat: Path) -> tuple[float, float]:
    fields = stat.read_text(encoding="ascii").rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_times(pid: int) -> tuple[float, float]:
    """A process's user and system CPU seconds (all its threads)."""
    return _times(Path(f"/proc/{pid}/stat"))


def cpu_seconds(pid: int) -> float:
    """A process's user + system CPU seconds (all its threads)."""
    return sum(cpu_times(pid))


def thread_cpu(pid: int) -> dict[int, float]:
    """User + system CPU seconds of each thread of ``pid``."""
    found: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found[int(task.name)] = sum(_times(task / "stat"))
        except OSError:  # the thread ended
            continue
    return found
