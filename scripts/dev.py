#!/usr/bin/env python3
"""The README's two commands on any platform (PowerShell, cmd, bash): set up .venv on first use, then

    python scripts/dev.py serve [fiscald serve options]   # a Simulated register on http://127.0.0.1:10123
    python scripts/dev.py test [pytest options]           # ruff, mypy --strict, the whole pytest suite
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if sys.platform == "win32" else "bin")
PYTHON = BIN / ("python.exe" if sys.platform == "win32" else "python")


def _run(*args: str | Path) -> None:
    done = subprocess.run([str(a) for a in args], cwd=ROOT, check=False)
    if done.returncode != 0:
        sys.exit(done.returncode)


def _setup(extra: str) -> None:
    if not PYTHON.exists():
        venv.create(VENV, with_pip=True)
    _run(PYTHON, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-e", f".{extra}")


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in ("serve", "test"):
        sys.exit(__doc__)
    command, rest = argv[0], argv[1:]
    if command == "serve":
        _setup("")
        _run(PYTHON, "-m", "fiscald", "serve", "--demo", *rest)
        return
    _setup("[test]")
    _run(PYTHON, "-m", "ruff", "check", "src", "tests", "bench", "examples", "scripts")
    _run(PYTHON, "-m", "mypy")
    # ...and as the other platform sees it: platform code must sit behind sys.platform checks
    other = "linux" if sys.platform == "win32" else "win32"
    _run(PYTHON, "-m", "mypy", "--platform", other, "--cache-dir", str(Path(".mypy_cache") / other))
    _run(PYTHON, "-m", "pytest", "-q", *rest)


if __name__ == "__main__":
    main(sys.argv[1:])
