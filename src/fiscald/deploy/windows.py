"""The Windows service without pywin32: its definition (what ``service install`` registers) and what it runs
(``ServiceRunner``). The pywin32 glue in ``winservice`` only forwards the service manager's calls here, so all of
this runs, and is tested, on any platform."""

from __future__ import annotations

import logging
import logging.handlers
import os
import site
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from fiscald import instance
from fiscald.app import create_app, open_database
from fiscald.config import is_loopback, machine_data_dir
from fiscald.deploy import (
    DESCRIPTION,
    DISPLAY_NAME,
    GRACEFUL_STOP_S,
    SERVICE_NAME,
    STOP_DEADLINE_S,
    ports,
    refuse_unsafe,
)
from fiscald.interfaces import serving
from fiscald.logs import JsonFormatter, setup_logging
from fiscald.store import devices as device_repo

log = logging.getLogger("fiscald.service")

GLUE_MODULE = "fiscald.deploy.winservice"
LOG_FILE = "fiscald.log"
LOG_BYTES = 5_000_000
LOG_BACKUPS = 5
REPORT_EVERY_S = 2.0  # while stopping, tell the service manager we are still at it this often
# SCM failure actions: restart after 5 s, 10 s, then every minute; the count resets after a day without failure
FAILURE_ACTIONS = ((5_000, "restart"), (10_000, "restart"), (60_000, "restart"))
RESET_FAILURES_AFTER_S = 86_400


@dataclass(frozen=True)
class ServiceDefinition:
    executable: str
    arguments: tuple[str, ...]
    data_dir: Path
    name: str = SERVICE_NAME
    display_name: str = DISPLAY_NAME
    description: str = DESCRIPTION
    stop_deadline_s: int = STOP_DEADLINE_S

    @property
    def log_file(self) -> Path:
        return log_file(self.data_dir)

    def command_line(self) -> str:
        """The registered command line, quoted so CommandLineToArgvW (and the C runtime) give back exactly
        ``executable`` and ``arguments``: ``subprocess.list2cmdline`` follows those rules (backslashes doubled
        only before a quote, quotes escaped, words with spaces or tabs quoted); the program name, parsed
        without escapes, is a path with no quote in it (:func:`definition`)."""
        return subprocess.list2cmdline([self.executable, *self.arguments])

    def describe(self) -> str:
        restarts = ", ".join(f"{action} after {delay // 1000} s" for delay, action in FAILURE_ACTIONS)
        return "\n".join([
            f"Windows service {self.name} ({self.display_name})",
            f"  command:      {self.command_line()}",
            "  start:        automatic (delayed) at boot, as LocalSystem",
            f"  on failure:   {restarts}; failure count reset after {RESET_FAILURES_AFTER_S // 3600} h",
            f"  stop:         requests in flight get {GRACEFUL_STOP_S} s, then the device operation in progress "
            f"finishes; the service manager is told to wait up to {self.stop_deadline_s} s (also at shutdown)",
            f"  data dir:     {self.data_dir}",
            f"  log file:     {self.log_file} (rotated at {LOG_BYTES // 1_000_000} MB, {LOG_BACKUPS} kept)",
        ])


def log_file(data_dir: Path) -> Path:
    return data_dir / "logs" / LOG_FILE


def definition(data_dir: Path | None = None, python: str = sys.executable,
               base_python: str = getattr(sys, "_base_executable", sys.executable),
               in_venv: bool = sys.prefix != sys.base_prefix,
               site_dirs: tuple[str, ...] = tuple(site.getsitepackages())) -> ServiceDefinition:
    """The service's command line. A venv's python.exe on Windows is a launcher that runs the real interpreter as a
    child process, which the service manager would not recognise as the service; so from a venv the base
    interpreter is registered, and it adds the venv's site-packages (with their .pth files: pywin32's DLL path,
    editable installs) before importing fiscald."""
    folder = data_dir or machine_data_dir(platform="win32")
    for option, value in (("--python", python), ("--data-dir", str(folder))):
        refuse_unsafe(option, value)
        # the service manager stores the command line as REG_EXPAND_SZ and expands %NAME% in it, with no escape
        if any(ch in value for ch in '"%'):
            raise ValueError(f"{option}: {value!r} holds '\"' or '%', which a Windows service's command line "
                             "cannot carry as they are")
    tail = ("--data-dir", str(folder))
    if not in_venv:
        return ServiceDefinition(python, ("-m", GLUE_MODULE, *tail), folder)
    bootstrap = (f"import site,sys; [site.addsitedir(d) for d in {list(site_dirs)!r}]; "
                 f"from {GLUE_MODULE} import main; main(sys.argv[1:])")
    return ServiceDefinition(base_python, ("-c", bootstrap, *tail), folder)


def data_dir_from(argv: list[str]) -> Path:
    """The ``--data-dir`` of the registered command line, else the machine-wide data dir."""
    if "--data-dir" in argv[:-1]:
        return Path(argv[argv.index("--data-dir") + 1])
    return machine_data_dir(platform="win32")


def _log_to_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    setup_logging("info")  # uvicorn's loggers propagate to the root logger
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS,
                                                   encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    logging.getLogger().handlers[:] = [handler]


def _serve(server: uvicorn.Server) -> None:
    try:
        server.run()
    except SystemExit as exc:  # uvicorn's way to say it could not start
        log.error("fiscald server could not start (exit code %s)", exc.code)


class ServiceRunner:
    """Runs the server until ``stop()``; a stop lets requests in flight finish (``GRACEFUL_STOP_S``), then the
    device operation in progress, and calls ``while_stopping`` every ``REPORT_EVERY_S`` until done so the service
    manager keeps waiting. Work that cannot finish is handed over through the operation log: after the restart a
    retry with the same Idempotency-Key gets its result or 1010 OutcomeUnknown, never a second receipt."""

    def __init__(self, data_dir: Path, log_path: Path | None = None) -> None:
        self.data_dir = data_dir
        self.log_path = log_path or log_file(data_dir)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None

    def _server_for(self) -> serving.ClaimedServer:
        claim = instance.claim(self.data_dir)  # one server per data dir (fiscald.instance)
        if claim is None:
            record = instance.read_record(self.data_dir)
            raise RuntimeError(f"another fiscald server runs on data dir {self.data_dir} "
                               f"({record.describe() if record else 'starting or stopping'})")
        try:
            db = open_database(self.data_dir)
            try:
                settings = db.read_sync(device_repo.load_settings)
            finally:
                db.close()
            if not is_loopback(settings.bind_address) and not settings.api_token:
                raise RuntimeError(f"bind_address {settings.bind_address} needs an api_token setting")
            config = serving.server_config(create_app(self.data_dir, claim.instance_id), settings.bind_address,
                                           settings.api_port, settings.language, serving.Limits(),
                                           graceful_timeout_s=GRACEFUL_STOP_S)
            sock = ports.bind(settings.bind_address, settings.api_port)  # last: nothing after it can fail
            if isinstance(sock, ports.Refusal):
                raise RuntimeError(sock.message)
        except BaseException:
            claim.release()
            raise
        return serving.ClaimedServer(config, claim, sock)

    def run(self, while_stopping: Callable[[], None]) -> int:
        """Blocks until stopped; 0 after a requested stop, 1 when the server could not start or ended by itself
        (a failure: the service manager restarts the service)."""
        _log_to_file(self.log_path)
        try:
            server = self._server_for()
        except Exception as exc:
            log.error("fiscald service cannot start (data dir %s): %s", self.data_dir, exc)
            return 1
        with self._lock:
            self._server = server
            server.should_exit = self._stopping.is_set()
        log.info("fiscald service starting: data dir %s, pid %d", self.data_dir, os.getpid())
        thread = threading.Thread(target=_serve, args=(server,), name="fiscald-server", daemon=True)
        thread.start()
        while thread.is_alive():
            thread.join(REPORT_EVERY_S)
            if self._stopping.is_set() and thread.is_alive():
                while_stopping()
        server.claim.release()
        if not self._stopping.is_set() or not server.started:
            log.error("fiscald server ended without a stop request")
            return 1
        log.info("fiscald service stopped")
        return 0

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
            if self._server is not None:
                self._server.should_exit = True

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.started
