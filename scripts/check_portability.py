#!/usr/bin/env python3
"""Fail on calls that work on Linux and break on Windows (docs/deployment.md, "Windows pitfalls").

- text I/O without ``encoding=``: ``open``/``Path.open``/``os.fdopen`` in text mode, ``read_text``, ``write_text``,
  ``io.TextIOWrapper``, logging file handlers, ``subprocess`` with ``text=True``: Windows uses the ANSI code page;
- ``os.open`` without ``O_BINARY``: Windows opens in text mode (CRLF becomes LF, 0x1A ends the file); flags
  built by a function of the same module that names ``O_BINARY`` count, and a folder opened on a POSIX-only path
  says so with ``# portable: posix only`` on its line;
- file ids from ``os.DirEntry.stat()``: on Windows its ``st_dev``/``st_ino`` are 0 (use ``os.stat``/``os.lstat``);
- a POSIX-only module (``POSIX_ONLY``: tty, termios, fcntl, pwd, ...) imported at module level: Windows has none,
  so importing the module fails there, and with it every command that reaches it. Import it inside the function
  that needs it, after a ``sys.platform`` check (or under an ``if`` on ``sys.platform``);
- ``os.name`` checks: ``mypy --platform win32`` (scripts/test.sh) understands ``sys.platform`` checks only, so
  code behind ``os.name == "posix"`` is type-checked against Windows' stubs and code behind ``"nt"`` is not.

Usage: python scripts/check_portability.py [FOLDER_OR_FILE ...]   (default: src tests bench examples scripts)
Exit code 1 when something is found; each finding is printed as ``path:line: rule: code``.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATHS = ("src", "tests", "bench", "examples", "scripts")
SUBPROCESS_TEXT = {"run", "Popen", "check_output", "call", "check_call"}
OPEN_ELSEWHERE = {"os", "webbrowser", "tarfile", "zipfile", "gzip", "bz2", "lzma"}  # other rules, or not files
PATH_TYPES = {"Path", "PurePath", "PosixPath", "WindowsPath"}
PATH_WORDS = ("path", "file", "folder", "dir", "log", "target", "output")
FILE_HANDLERS = {"FileHandler", "RotatingFileHandler", "TimedRotatingFileHandler", "WatchedFileHandler"}
# modules Windows does not have (the Windows tests block them for fiscald's module-level imports)
POSIX_ONLY = frozenset({"tty", "termios", "pty", "fcntl", "pwd", "grp", "resource", "syslog", "uvloop", "posix",
                        "readline"})
# what a DirEntry's cached stat() gets right on every platform
STAT_SAFE = {"st_size", "st_mtime", "st_mtime_ns", "st_atime", "st_atime_ns", "st_ctime", "st_ctime_ns", "st_mode"}


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    rule: str
    code: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.code}"


def _keywords(call: ast.Call) -> set[str]:
    return {k.arg for k in call.keywords if k.arg is not None}


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _text_mode(call: ast.Call, mode_position: int) -> bool:
    """True unless the mode is known to be binary."""
    mode = _keyword(call, "mode")
    if mode is None and len(call.args) > mode_position:
        mode = call.args[mode_position]
    if mode is None:
        return True  # the default mode is text
    return not (isinstance(mode, ast.Constant) and isinstance(mode.value, str) and "b" in mode.value)


def _has_encoding(call: ast.Call, position: int) -> bool:
    return "encoding" in _keywords(call) or len(call.args) > position


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


class Checker(ast.NodeVisitor):
    def __init__(self, path: str, source: str, tree: ast.AST) -> None:
        self.path = path
        self.lines = source.splitlines()
        self.findings: list[Finding] = []
        self.parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        self.scandirs: set[str] = set()  # names bound to os.scandir(...)
        self.entries: set[str] = set()  # names bound to its DirEntry objects
        # module functions whose body names O_BINARY: their result is a binary open's flags
        self.binary_flags = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
                             and "O_BINARY" in ast.unparse(node)}

    def found(self, node: ast.AST, rule: str) -> None:
        line = getattr(node, "lineno", 0)
        self.findings.append(Finding(self.path, line, rule, self.lines[line - 1].strip() if line else ""))

    @staticmethod
    def _is_scandir(node: ast.expr | None) -> bool:
        return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "scandir"

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            if self._is_scandir(item.context_expr) and isinstance(item.optional_vars, ast.Name):
                self.scandirs.add(item.optional_vars.id)
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        if self._is_scandir(node.value):
            self.scandirs.update(t.id for t in node.targets if isinstance(t, ast.Name))
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        over = node.iter
        if (self._is_scandir(over) or (isinstance(over, ast.Name) and over.id in self.scandirs)) and \
                isinstance(node.target, ast.Name):
            self.entries.add(node.target.id)
        self.generic_visit(node)

    def _only_safe_fields(self, stat_call: ast.Call) -> bool:
        """``entry.stat().st_size``, or ``info = entry.stat()`` with only such fields read from ``info``."""
        parent = self.parents.get(stat_call)
        if isinstance(parent, ast.Attribute):
            return parent.attr in STAT_SAFE
        if not (isinstance(parent, ast.Assign) and len(parent.targets) == 1 and
                isinstance(parent.targets[0], ast.Name)):
            return False
        name = parent.targets[0].id
        scope: ast.AST = parent
        while scope in self.parents and not isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
            scope = self.parents[scope]
        uses = [self.parents.get(n) for n in ast.walk(scope) if isinstance(n, ast.Name) and n.id == name and
                isinstance(n.ctx, ast.Load)]
        return all(isinstance(use, ast.Attribute) and use.attr in STAT_SAFE for use in uses)

    def _path_open(self, call: ast.Call) -> bool:
        """``X.open(...)`` that is ``Path.open``: a mode is given, or X is a path (``a / b``, ``Path(...)``, a name
        such as ``log_path``); never an awaited ``open()`` (a connection, a transport)."""
        if isinstance(self.parents.get(call), ast.Await):
            return False
        if call.args or "mode" in _keywords(call):
            return True
        assert isinstance(call.func, ast.Attribute)
        receiver = call.func.value
        if isinstance(receiver, ast.BinOp) and isinstance(receiver.op, ast.Div):
            return True
        if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Name):
            return receiver.func.id in PATH_TYPES
        text = ast.unparse(receiver).lower()
        return any(word in text for word in PATH_WORDS)

    def _platform_guarded(self, node: ast.AST) -> bool:
        """Inside a function, or under an ``if`` on ``sys.platform``: not run when a Windows module imports."""
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                return True
            if isinstance(node, ast.If) and "sys.platform" in ast.unparse(node.test):
                return True
        return False

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] in POSIX_ONLY and not self._platform_guarded(node):
                self.found(node, f"POSIX-only module {alias.name} imported at module level")
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        name = node.module or ""
        if node.level == 0 and name.split(".")[0] in POSIX_ONLY and not self._platform_guarded(node):
            self.found(node, f"POSIX-only module {name} imported at module level")
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        if any(isinstance(n, ast.Attribute) and n.attr == "name" and isinstance(n.value, ast.Name) and
               n.value.id == "os" for n in (node.left, *node.comparators)):
            self.found(node, "os.name check (use sys.platform: mypy --platform win32 understands it)")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else None
        if name == "open" and isinstance(func, ast.Name):
            if _text_mode(node, 1) and not _has_encoding(node, 3):
                self.found(node, "text open() without encoding=")
        elif name == "open" and owner == "io":
            if _text_mode(node, 1) and not _has_encoding(node, 3):
                self.found(node, "text io.open() without encoding=")
        elif name == "open" and owner == "os":
            flags = node.args[1] if len(node.args) > 1 else None
            built = (isinstance(flags, ast.Call) and isinstance(flags.func, ast.Name)
                     and flags.func.id in self.binary_flags)
            waived = "# portable: posix only" in self.lines[node.lineno - 1]
            if not (built or waived or (flags is not None and "O_BINARY" in ast.unparse(flags))):
                self.found(node, "os.open() without O_BINARY")
        elif name == "open" and owner not in OPEN_ELSEWHERE and self._path_open(node):
            if _text_mode(node, 0) and not _has_encoding(node, 2):
                self.found(node, "text Path.open() without encoding=")
        elif name == "fdopen" and owner == "os":
            if _text_mode(node, 1) and not _has_encoding(node, 3):
                self.found(node, "text os.fdopen() without encoding=")
        elif name == "read_text" and isinstance(func, ast.Attribute) and not _has_encoding(node, 0):
            self.found(node, "read_text() without encoding=")
        elif name == "write_text" and isinstance(func, ast.Attribute) and not _has_encoding(node, 1):
            self.found(node, "write_text() without encoding=")
        elif name == "TextIOWrapper" and not _has_encoding(node, 1):
            self.found(node, "TextIOWrapper() without encoding=")
        elif name in FILE_HANDLERS and "encoding" not in _keywords(node):
            self.found(node, f"{name}() without encoding=")
        elif name in SUBPROCESS_TEXT and owner == "subprocess" and "encoding" not in _keywords(node) and \
                (_is_true(_keyword(node, "text")) or _is_true(_keyword(node, "universal_newlines"))):
            self.found(node, "subprocess text=True without encoding=")
        elif name == "stat" and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and \
                func.value.id in self.entries and not self._only_safe_fields(node):
            self.found(node, "file id from DirEntry.stat() (st_dev/st_ino are 0 on Windows; use os.lstat)")
        self.generic_visit(node)


def check_file(path: Path, root: Path = ROOT) -> list[Finding]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, str(path))
    shown = path.resolve()
    checker = Checker((shown.relative_to(root) if shown.is_relative_to(root) else shown).as_posix(), source, tree)
    checker.visit(tree)
    return checker.findings


def check(paths: list[Path], root: Path = ROOT) -> list[Finding]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return sorted(f for file in files if ".venv" not in file.parts for f in check_file(file, root))


def main(argv: list[str]) -> int:
    findings = check([ROOT / p for p in argv] if argv else [ROOT / p for p in DEFAULT_PATHS])
    for finding in findings:
        print(finding)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
