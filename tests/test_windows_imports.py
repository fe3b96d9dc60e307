"""fiscald as a Windows PC runs it, checked on Linux (issue 18): Windows has no tty, termios, pwd, resource...
(scripts/check_portability.py, ``POSIX_ONLY``), so one module-level import of them stops every command there.

- ``mypy --platform win32`` over src: POSIX-only calls must sit behind ``sys.platform`` checks;
- the CLI and a serving process run with those modules unimportable for fiscald's own module-level imports (a
  ``sitecustomize`` on PYTHONPATH, as Windows would refuse them) and print a receipt.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from test_portability import checker

from fiscald import __version__
from server import Server, item, op

ROOT = Path(__file__).resolve().parent.parent

# Refuses a POSIX-only import made at module level by a fiscald module, as `import tty` fails on Windows.
# Imports inside functions pass: they run only where code calls them, after its sys.platform check.
SHIM = textwrap.dedent('''\
    import builtins
    import os
    import sys

    BLOCKED = frozenset({blocked})
    _import = builtins.__import__


    def _windows_import(name, globals=None, locals=None, fromlist=(), level=0):
        caller = sys._getframe(0).f_back  # None for an import made by the interpreter itself (runpy)
        if (level == 0 and name.split(".")[0] in BLOCKED and caller is not None and caller.f_code.co_name == "<module>"
                and str(caller.f_globals.get("__name__", "")).startswith("fiscald")):
            raise ImportError(f"No module named {{name!r}} (POSIX-only: Windows has none)")
        return _import(name, globals, locals, fromlist, level)


    builtins.__import__ = _windows_import
    open(os.path.join(os.path.dirname(__file__), f"loaded-{{os.getpid()}}"), "wb").close()  # the tests check it
    ''').format(blocked=sorted(checker.POSIX_ONLY))


@pytest.fixture()
def windows_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PYTHONPATH for child processes: the shim first (children inherit os.environ)."""
    shim = tmp_path / "windows-shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(SHIM, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(shim))
    return shim


def _fiscald(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fiscald", *args], capture_output=True, text=True,
                          encoding="utf-8", timeout=60, cwd=ROOT)


def test_mypy_sees_the_windows_side_clean() -> None:
    run = subprocess.run([sys.executable, "-m", "mypy", "--platform", "win32", "--cache-dir",
                          str(Path(".mypy_cache") / "win32")], capture_output=True, text=True, encoding="utf-8",
                         cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_shim_refuses_what_windows_refuses(windows_path: Path, tmp_path: Path) -> None:
    """The shim is in force in children and catches the bug of issue 18 (``import tty`` at module level)."""
    (tmp_path / "fiscald_probe.py").write_text("import tty\n", encoding="utf-8")
    (tmp_path / "fiscald_probe_late.py").write_text("def f():\n    import tty\n    return tty\n", encoding="utf-8")
    path = f"{windows_path}{':' if sys.platform != 'win32' else ';'}{tmp_path}"
    env = {"PYTHONPATH": path, "PATH": ""}
    probe = subprocess.run([sys.executable, "-c", "import fiscald_probe"], capture_output=True, text=True,
                           encoding="utf-8", env=env, timeout=60)
    assert probe.returncode == 1 and "No module named 'tty' (POSIX-only" in probe.stderr
    late = subprocess.run([sys.executable, "-c", "import fiscald_probe_late as m; m.f()"], capture_output=True,
                          text=True, encoding="utf-8", env=env, timeout=60)
    assert late.returncode == 0, late.stderr


@pytest.mark.usefixtures("windows_path")
def test_the_cli_starts_without_posix_modules() -> None:
    assert _fiscald("--version").stdout.strip() == f"fiscald {__version__}"
    helped = _fiscald("--help")
    assert helped.returncode == 0, helped.stderr
    assert "serve" in helped.stdout and "emulate" in helped.stdout and "service" in helped.stdout
    emulate = _fiscald("emulate", "datecs", "--help")
    assert emulate.returncode == 0 and "--pty" in emulate.stdout, emulate.stderr


def test_a_server_prints_a_receipt_without_them(make_server: Callable[..., Server], windows_path: Path) -> None:
    srv = make_server()
    assert srv.proc is not None and (windows_path / f"loaded-{srv.proc.pid}").exists()
    [register] = srv.fiscal_ids()
    with httpx.Client(base_url=srv.url, timeout=30) as client:
        answer = client.post("/devices/operation", json=op(register, "print_receipt", {"lines": [item()]}),
                             headers={"Idempotency-Key": "windows-1"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["total_cents"] == 1000
    assert srv.proc is not None and srv.proc.poll() is None
    assert "POSIX-only" not in srv.log()
