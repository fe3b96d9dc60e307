"""The Windows service on Linux: the service logic runs for real; only pywin32 (the boundary to the service manager)
is a fake module that records what the service tells it."""

from __future__ import annotations

import importlib
import logging
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import fiscald.deploy
from fiscald.app import open_database
from fiscald.cli import cli
from fiscald.config import DB_FILE
from fiscald.deploy import GRACEFUL_STOP_S, STOP_DEADLINE_S, windows
from fiscald.store import devices as device_repo
from fiscald.store import operations
from server import add_simulated_register, free_port, item, op

SERVICE_RUNNING, SERVICE_STOPPED, SERVICE_STOP_PENDING, SERVICE_START_PENDING = 4, 1, 3, 2


class FakeServiceFramework:
    """pywin32's ServiceFramework as the service manager sees it: the statuses reported."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.reported: list[tuple[int, dict[str, int]]] = []

    def ReportServiceStatus(self, status: int, **kwargs: int) -> None:
        self.reported.append((status, kwargs))


@pytest.fixture()
def pywin32(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Fake servicemanager, win32service and win32serviceutil; yields the calls made into them."""
    calls: dict[str, Any] = {"config2": [], "installed": None, "started": [], "stopped": [], "removed": []}
    win32service = types.ModuleType("win32service")
    for value, name in enumerate(["SERVICE_STOPPED", "SERVICE_START_PENDING", "SERVICE_STOP_PENDING",
                                  "SERVICE_RUNNING"], start=1):
        setattr(win32service, name, value)
    for value, name in enumerate(["SERVICE_ACCEPT_STOP", "SERVICE_ACCEPT_SHUTDOWN", "SERVICE_ACCEPT_PRESHUTDOWN"]):
        setattr(win32service, name, 1 << value)
    consts = {"SERVICE_CONTROL_PRESHUTDOWN": 15, "SC_ACTION_RESTART": 1, "SERVICE_AUTO_START": 2,
              "SC_MANAGER_ALL_ACCESS": 0xF003F, "SERVICE_ALL_ACCESS": 0xF01FF, "SERVICE_CONFIG_FAILURE_ACTIONS": 2,
              "SERVICE_CONFIG_FAILURE_ACTIONS_FLAG": 4, "SERVICE_CONFIG_PRESHUTDOWN_INFO": 7}
    for name, value in consts.items():
        setattr(win32service, name, value)
    win32service.OpenSCManager = lambda *a: "scm"  # type: ignore[attr-defined]
    win32service.OpenService = lambda scm, name, access: f"service:{name}"  # type: ignore[attr-defined]
    win32service.CloseServiceHandle = lambda handle: None  # type: ignore[attr-defined]
    win32service.ChangeServiceConfig2 = lambda h, level, info: calls["config2"].append((level, info))  # type: ignore[attr-defined]
    util = types.ModuleType("win32serviceutil")
    util.ServiceFramework = FakeServiceFramework  # type: ignore[attr-defined]
    util.InstallService = lambda cls, name, display, **kw: calls.update(installed=(name, display, kw))  # type: ignore[attr-defined]
    util.StartService = lambda name: calls["started"].append(name)  # type: ignore[attr-defined]
    util.QueryServiceStatus = lambda name: (16, SERVICE_RUNNING, 0, 0, 0, 0, 0)  # type: ignore[attr-defined]
    util.StopServiceWithDeps = lambda name, waitSecs: calls["stopped"].append((name, waitSecs))  # type: ignore[attr-defined]
    util.RemoveService = lambda name: calls["removed"].append(name)  # type: ignore[attr-defined]
    manager = types.ModuleType("servicemanager")
    for name in ("Initialize", "PrepareToHostSingle", "StartServiceCtrlDispatcher"):
        setattr(manager, name, lambda *a, _n=name: calls.setdefault("hosted", []).append(_n))
    manager.LogErrorMsg = lambda text: calls.setdefault("event_log", []).append(text)  # type: ignore[attr-defined]
    for module in (win32service, util, manager):
        monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.delitem(sys.modules, "fiscald.deploy.winservice", raising=False)  # imported again on these fakes
    monkeypatch.delattr(fiscald.deploy, "winservice", raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield calls
    root.handlers[:], root.level = handlers, level  # the service logs to its file through the root logger


def set_port(data: Path, port: int) -> None:
    """Written to the data dir directly: `settings set` on a fresh data dir talks to whatever server answers on
    the default port, which on a shared machine may be someone else's."""
    db = open_database(data)
    db.write_sync(lambda c: device_repo.save_settings(
        c, device_repo.load_settings(c).model_copy(update={"api_port": port})))
    db.close()


def glue() -> Any:
    return importlib.import_module("fiscald.deploy.winservice")


def test_definition_outside_and_inside_a_venv(tmp_path: Path) -> None:
    plain = windows.definition(tmp_path, python=r"C:\Python311\python.exe", in_venv=False)
    assert plain.command_line() == rf"C:\Python311\python.exe -m fiscald.deploy.winservice --data-dir {tmp_path}"
    described = plain.describe()
    assert "automatic (delayed) at boot" in described and "restart after 5 s" in described
    assert str(tmp_path / "logs" / "fiscald.log") in described and "rotated" in described
    venv = windows.definition(tmp_path, python=r"C:\shop\venv\Scripts\python.exe",
                              base_python=r"C:\Python311\python.exe", in_venv=True,
                              site_dirs=(r"C:\shop\venv\Lib\site-packages",))
    assert venv.executable == r"C:\Python311\python.exe" and venv.arguments[0] == "-c"
    assert r"C:\\shop\\venv\\Lib\\site-packages" in venv.arguments[1]


def test_the_venv_bootstrap_imports_fiscald_from_the_base_interpreter(tmp_path: Path) -> None:
    """The registered command line of a venv install, run for real: the base interpreter finds fiscald (an
    editable install, through its .pth file) and gets as far as pywin32, which Linux does not have."""
    service = windows.definition(tmp_path)
    assert sys.prefix != sys.base_prefix, "the tests run in the project's venv"
    run = subprocess.run([service.executable, *service.arguments], capture_output=True, text=True,
                         encoding="utf-8", timeout=60)
    assert "No module named 'servicemanager'" in run.stderr and "fiscald'" not in run.stderr


def command_line_to_argv(line: str) -> list[str]:
    """CommandLineToArgvW's rules (Microsoft's "Parsing C command-line arguments"): the program name ends at
    the first space or tab outside quotes, quotes only grouping; then 2n backslashes before a quote give n and
    the quote groups, 2n+1 give n and a literal quote, backslashes elsewhere are literal."""
    i, program, quoted = 0, "", False
    while i < len(line) and (quoted or line[i] not in " \t"):
        if line[i] == '"':
            quoted = not quoted
        else:
            program += line[i]
        i += 1
    args: list[str] = [program]
    while True:
        while i < len(line) and line[i] in " \t":
            i += 1
        if i >= len(line):
            return args
        word, quoted = "", False
        while i < len(line) and (quoted or line[i] not in " \t"):
            slashes = 0
            while i < len(line) and line[i] == "\\":
                slashes, i = slashes + 1, i + 1
            if i < len(line) and line[i] == '"':
                word += "\\" * (slashes // 2)
                if slashes % 2:
                    word += '"'
                else:
                    quoted = not quoted
                i += 1
            else:
                word += "\\" * slashes
                if i < len(line) and (quoted or line[i] not in " \t"):
                    word += line[i]
                    i += 1
        args.append(word)


@pytest.mark.parametrize("folder", [r"C:\Shop Data\fiscald", "C:\\trailing slash\\", r"D:\a\\b c\\",
                                    "C:\\x y\\\\ z\\\\", "C:\\ümlaut & caret^ (x) ;"])
def test_the_command_line_gives_back_exactly_the_arguments(folder: str) -> None:
    for in_venv in (False, True):
        service = windows.definition(Path(folder), python=r"C:\Program Files\Python 3\python.exe",
                                     base_python=r"C:\Program Files\Python 3\python.exe", in_venv=in_venv,
                                     site_dirs=("C:\\venv dir\\Lib\\site-packages\\",))
        assert command_line_to_argv(service.command_line()) == [service.executable, *service.arguments]
        assert windows.data_dir_from(list(service.arguments)) == Path(folder)


@pytest.mark.parametrize(("option", "value"), [
    ("--data-dir", "C:\\data\n--port 1"), ("--data-dir", "C:\\%SystemRoot%\\x"), ("--data-dir", 'C:\\a"b'),
    ("--python", "C:\\py\r\nthon.exe"), ("--python", "C:\\%TEMP%\\python.exe"),
])
def test_unsafe_windows_options_are_refused(pywin32: dict[str, Any], monkeypatch: pytest.MonkeyPatch, option: str,
                                            value: str) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    result = CliRunner().invoke(cli, ["service", "install", option, value])
    assert result.exit_code == 2, result.output
    assert f"service install: {option}:" in result.stderr and pywin32["installed"] is None


def test_data_dir_of_the_service() -> None:
    assert windows.data_dir_from(["--data-dir", r"D:\fiscald"]) == Path(r"D:\fiscald")
    assert windows.data_dir_from([]).name == "fiscald"


def test_install_registers_boot_start_restarts_and_the_stop_deadline(pywin32: dict[str, Any],
                                                                     tmp_path: Path) -> None:
    service = windows.definition(tmp_path, python=r"C:\Python311\python.exe", in_venv=False)
    glue().install(service)
    name, _, options = pywin32["installed"]
    assert name == "fiscald" and options["startType"] == 2 and options["delayedstart"] is True
    assert options["exeName"] == r"C:\Python311\python.exe"
    assert options["exeArgs"] == f"-m fiscald.deploy.winservice --data-dir {tmp_path}"
    config = dict(pywin32["config2"])
    assert [action for action, _ in config[2]["Actions"]] == [1, 1, 1]  # restart on every failure
    assert config[4] is True  # a non-zero exit code counts as a failure too
    assert config[7] == STOP_DEADLINE_S * 1000  # pre-shutdown: the same deadline at system shutdown
    assert pywin32["started"] == ["fiscald"]
    glue().uninstall("fiscald")
    assert pywin32["stopped"] == [("fiscald", STOP_DEADLINE_S)] and pywin32["removed"] == ["fiscald"]
    glue().main(["--data-dir", str(tmp_path)])
    assert pywin32["hosted"] == ["Initialize", "PrepareToHostSingle", "StartServiceCtrlDispatcher"]


def test_cli_on_windows_prints_the_service_definition(pywin32: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    result = CliRunner().invoke(cli, ["service", "install", "--dry-run"],
                                env={"ProgramData": str(tmp_path), "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Windows service fiscald" in result.stdout and str(tmp_path / "fiscald") in result.stdout
    assert pywin32["installed"] is None
    status = CliRunner().invoke(cli, ["service", "status"], env={"ProgramData": str(tmp_path)})
    assert "fiscald: running" in status.stdout and "fiscald.log" in status.stdout


def _wait(condition: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _running(data: Path) -> bool:
    with sqlite3.connect(f"{(data / DB_FILE).as_uri()}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return bool(operations.interrupted(conn))  # 'running' rows: on the device right now


def test_service_runs_the_server_and_a_stop_finishes_work_in_flight(pywin32: dict[str, Any],
                                                                     tmp_path: Path) -> None:
    data, port = tmp_path / "ProgramData" / "fiscald", free_port()
    device_id = add_simulated_register(data)
    set_port(data, port)
    module = glue()
    module.FiscaldService.argv = ["--data-dir", str(data)]
    service = module.FiscaldService(["fiscald"])
    assert service.GetAcceptedControls() & sys.modules["win32service"].SERVICE_ACCEPT_PRESHUTDOWN
    host = threading.Thread(target=service.SvcRun)  # the service manager's thread
    host.start()
    url = f"http://127.0.0.1:{port}"
    _wait(lambda: service.runner.listening, "the service listens")
    slow = {"device_id": device_id, "latency_ms": 2500}
    assert httpx.post(url + "/manage/simulate", json=slow, timeout=10).status_code == 200
    answers: list[httpx.Response] = []
    receipt = op(device_id, "print_receipt", {"lines": [item()], "payments": [{"type": "cash", "amount_cents": 1000}]})
    client = threading.Thread(target=lambda: answers.append(
        httpx.post(url + "/devices/operation", json=receipt, headers={"Idempotency-Key": "svc-stop-1"}, timeout=60)))
    client.start()
    _wait(lambda: _running(data), "the receipt is on the register")  # each command then takes 2.5 s
    service.SvcOtherEx(15, 0, None)  # pre-shutdown, as at a system shutdown
    host.join(GRACEFUL_STOP_S + 30)
    client.join(10)
    assert not host.is_alive()
    assert answers and answers[0].status_code == 200, answers and answers[0].text  # finished, not dropped
    statuses = [status for status, _ in service.reported]
    assert statuses[0] == SERVICE_RUNNING and statuses[-1] == SERVICE_STOPPED
    assert SERVICE_STOP_PENDING in statuses and all(s == SERVICE_STOP_PENDING for s in statuses[1:-1])
    assert service.reported[-1][1].get("win32ExitCode", 0) == 0
    log = (data / "logs" / "fiscald.log").read_text(encoding="utf-8")
    assert "fiscald service starting" in log and "fiscald service stopped" in log


def test_a_service_that_cannot_listen_fails_so_the_manager_restarts_it(pywin32: dict[str, Any],
                                                                        tmp_path: Path) -> None:
    data = tmp_path / "fiscald"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        set_port(data, port)
        module = glue()
        module.FiscaldService.argv = ["--data-dir", str(data)]
        service = module.FiscaldService(["fiscald"])
        service.SvcRun()
    status, codes = service.reported[-1]
    assert status == SERVICE_STOPPED and codes["win32ExitCode"] == 1066 and codes["svcExitCode"] == 1
    assert "fiscald.log" in pywin32["event_log"][0]
    assert f"Port {port} on 127.0.0.1 is in use" in (data / "logs" / "fiscald.log").read_text(encoding="utf-8")


def test_a_windows_error_is_one_plain_line(pywin32: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> None:
        raise RuntimeError(1060, "OpenService", "The specified service does not exist as an installed service.")

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(sys.modules["win32serviceutil"], "QueryServiceStatus", missing)
    result = CliRunner().invoke(cli, ["service", "status"], env={"COLUMNS": "200"})
    assert result.exit_code == 1 and "service status failed" in result.output
    assert "does not exist" in result.output and "Traceback" not in result.output
