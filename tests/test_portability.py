"""scripts/check_portability.py: the POSIX-only calls we learned about are caught, and the tree has none."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_portability", ROOT / "scripts" / "check_portability.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


checker = _checker()

def test_the_tree_is_portable() -> None:
    findings = checker.check([ROOT / p for p in checker.DEFAULT_PATHS])
    assert [str(f) for f in findings] == []


@pytest.mark.parametrize(("code", "rule"), [
    ("open(p)", "text open() without encoding="),
    ("open(p, 'w')", "text open() without encoding="),
    ("Path(p).open('a')", "text Path.open() without encoding="),
    ("(d / 'x').open()", "text Path.open() without encoding="),
    ("log_path.open()", "text Path.open() without encoding="),
    ("Path(p).open()", "text Path.open() without encoding="),
    ("os.fdopen(fd, 'r')", "text os.fdopen() without encoding="),
    ("p.read_text()", "read_text() without encoding="),
    ("p.read_text(errors='replace')", "read_text() without encoding="),
    ("p.write_text('ș')", "write_text() without encoding="),
    ("io.TextIOWrapper(raw)", "TextIOWrapper() without encoding="),
    ("logging.handlers.RotatingFileHandler(p, maxBytes=1)", "RotatingFileHandler() without encoding="),
    ("subprocess.run(a, capture_output=True, text=True)", "subprocess text=True without encoding="),
    ("subprocess.Popen(a, universal_newlines=True)", "subprocess text=True without encoding="),
    ("os.open(p, os.O_RDONLY)", "os.open() without O_BINARY"),
    ("os.open(p, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0))", "os.open() without O_BINARY"),
    ("os.open(p, flags())\ndef flags():\n    return os.O_RDONLY", "os.open() without O_BINARY"),
    # issue 18: `import tty` at the top of the Datecs emulator stopped every fiscald command on Windows
    ("import tty", "POSIX-only module tty imported at module level"),
    ("import os, pwd", "POSIX-only module pwd imported at module level"),
    ("from resource import getrlimit", "POSIX-only module resource imported at module level"),
    ("import termios as t", "POSIX-only module termios imported at module level"),
    ("WINDOWS = os.name == 'nt'", "os.name check (use sys.platform: mypy --platform win32 understands it)"),
])
def test_each_posix_only_call_is_found(tmp_path: Path, code: str, rule: str) -> None:
    source = tmp_path / "sample.py"
    source.write_text(f"{code}\n", encoding="utf-8")
    [finding] = checker.check_file(source, tmp_path)
    assert (finding.path, finding.line, finding.rule) == ("sample.py", 1, rule)


@pytest.mark.parametrize("code", [
    "open(p, 'rb')",
    "open(p, 'w', encoding='utf-8')",
    "open(p, 'r', -1, 'utf-8')",
    "Path(p).open('rb')",
    "Path(p).open(encoding='cp1250')",
    "os.fdopen(fd, 'r+b')",
    "p.read_text('utf-8')",
    "p.write_text('x', encoding='utf-8')",
    "p.read_bytes()",
    "subprocess.run(a, capture_output=True, text=True, encoding='utf-8')",
    "subprocess.run(a, capture_output=True)",
    "os.open(p, os.O_RDONLY | getattr(os, 'O_BINARY', 0))",
    "def flags():\n    return os.O_RDONLY | getattr(os, 'O_BINARY', 0)\nos.open(p, flags())",
    "os.open(folder, os.O_RDONLY)  # portable: posix only",
    "webbrowser.open(url)",
    "async def f():\n    await transport.open()",
    "asyncio.run(SerialTransport(port, 9600).open())",
    "def raw(fd):\n    import tty\n    tty.setraw(fd)",
    "async def limit():\n    from resource import getrlimit",
    "if sys.platform != 'win32':\n    import grp",
    "import ttyd, os.path",
    "from . import pwd",
    "WINDOWS = sys.platform == 'win32'",
])
def test_portable_calls_pass(tmp_path: Path, code: str) -> None:
    source = tmp_path / "sample.py"
    source.write_text(f"{code}\n", encoding="utf-8")
    assert checker.check_file(source, tmp_path) == []


def test_posix_only_code_behind_os_name_or_import_error(tmp_path: Path) -> None:
    """mypy --platform win32 cannot see through either: both are found."""
    source = tmp_path / "guards.py"
    source.write_text(textwrap.dedent("""\
        try:
            import fcntl
        except ImportError:
            fcntl = None
        if os.name == "posix":
            import pwd
        """), encoding="utf-8")
    assert [(f.line, f.rule.split(" (")[0]) for f in checker.check_file(source, tmp_path)] == [
        (2, "POSIX-only module fcntl imported at module level"), (5, "os.name check"),
        (6, "POSIX-only module pwd imported at module level")]


def test_ids_from_direntry_stat(tmp_path: Path) -> None:
    source = tmp_path / "scan.py"
    source.write_text(textwrap.dedent("""\
        def ids(folder):
            with os.scandir(folder) as entries:
                for entry in entries:
                    info = entry.stat(follow_symlinks=False)
                    yield info.st_dev, info.st_ino

        def ages(folder):
            for entry in os.scandir(folder):
                info = entry.stat()
                yield entry.stat().st_size, info.st_mtime_ns, info.st_mode

        def passed_on(folder):
            for entry in os.scandir(folder):
                remember(entry.stat())
        """), encoding="utf-8")
    findings = checker.check_file(source, tmp_path)
    assert [f.line for f in findings] == [4, 14]
    assert all("DirEntry.stat()" in f.rule for f in findings)


def test_the_script_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert checker.main(["scripts"]) == 0  # the checker itself is portable
    bad = tmp_path / "bad.py"
    bad.write_text("open('x')\n", encoding="utf-8")
    assert checker.main([str(bad)]) == 1
    assert f"{bad.as_posix()}:1: text open() without encoding=" in capsys.readouterr().out


def test_scripts_keep_lf_endings_on_a_windows_checkout() -> None:
    """``git check-attr``: a Windows checkout (core.autocrlf) must not give bash scripts CRLF endings."""
    paths = ["scripts/test.sh", "scripts/serve-demo.sh", ".ci/run"]
    run = subprocess.run(["git", "check-attr", "eol", "--", *paths], cwd=ROOT, capture_output=True, text=True,
                         encoding="utf-8", check=True)
    assert run.stdout.splitlines() == [f"{p}: eol: lf" for p in paths]


def test_dev_entry_explains_itself() -> None:
    """scripts/dev.py, the README's commands for PowerShell: without a command it prints its usage."""
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "dev.py")], capture_output=True, text=True,
                         encoding="utf-8", timeout=60)
    assert run.returncode == 1 and "dev.py serve" in run.stderr and "dev.py test" in run.stderr
