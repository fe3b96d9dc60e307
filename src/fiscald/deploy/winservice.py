"""pywin32 glue: the service manager's calls forwarded to ``ServiceRunner``, and the service's registration.

Windows only (pywin32). Everything it decides is in ``fiscald.deploy.windows``; this module stays thin."""

from __future__ import annotations

import subprocess
import sys
from typing import ClassVar

import servicemanager
import win32service
import win32serviceutil

from fiscald.deploy import DESCRIPTION, DISPLAY_NAME, GRACEFUL_STOP_S, SERVICE_NAME, STOP_DEADLINE_S
from fiscald.deploy.windows import (
    FAILURE_ACTIONS,
    REPORT_EVERY_S,
    RESET_FAILURES_AFTER_S,
    ServiceDefinition,
    ServiceRunner,
    data_dir_from,
)

ERROR_SERVICE_SPECIFIC_ERROR = 1066
STOP_WAIT_HINT_MS = int((GRACEFUL_STOP_S + 3 * REPORT_EVERY_S) * 1000)
SC_ACTION = {"restart": win32service.SC_ACTION_RESTART}
STATES = {win32service.SERVICE_STOPPED: "stopped", win32service.SERVICE_START_PENDING: "starting",
          win32service.SERVICE_STOP_PENDING: "stopping", win32service.SERVICE_RUNNING: "running"}


class FiscaldService(win32serviceutil.ServiceFramework):
    _svc_name_ = SERVICE_NAME
    _svc_display_name_ = DISPLAY_NAME
    _svc_description_ = DESCRIPTION
    argv: ClassVar[list[str]] = []  # the registered command line's arguments (main)

    def __init__(self, args: list[str]) -> None:
        super().__init__(args)
        self.runner = ServiceRunner(data_dir_from(self.argv))

    def GetAcceptedControls(self) -> int:
        # pre-shutdown: at system shutdown the stop gets the deadline set at install, not the short default
        return (win32service.SERVICE_ACCEPT_STOP | win32service.SERVICE_ACCEPT_SHUTDOWN
                | win32service.SERVICE_ACCEPT_PRESHUTDOWN)

    def SvcRun(self) -> None:
        self.ReportServiceStatus(win32service.SERVICE_RUNNING)
        code = self.runner.run(self._still_stopping)
        if code:
            servicemanager.LogErrorMsg(f"fiscald failed and will be restarted; see {self.runner.log_path}")
        # a non-zero exit code makes the service manager run the failure actions (restart)
        self.ReportServiceStatus(win32service.SERVICE_STOPPED, win32ExitCode=ERROR_SERVICE_SPECIFIC_ERROR if code
                                 else 0, svcExitCode=code)

    def _still_stopping(self) -> None:
        self.ReportServiceStatus(win32service.SERVICE_STOP_PENDING, waitHint=STOP_WAIT_HINT_MS)

    def SvcStop(self) -> None:
        self._still_stopping()
        self.runner.stop()

    SvcShutdown = SvcStop

    def SvcOtherEx(self, control: int, event_type: int, data: object) -> None:
        if control == win32service.SERVICE_CONTROL_PRESHUTDOWN:
            self.SvcStop()


def install(service: ServiceDefinition) -> None:
    win32serviceutil.InstallService(
        None, service.name, service.display_name, startType=win32service.SERVICE_AUTO_START,
        exeName=service.executable, exeArgs=subprocess.list2cmdline(service.arguments),
        description=service.description, delayedstart=True)
    manager = win32service.OpenSCManager(None, None, win32service.SC_MANAGER_ALL_ACCESS)
    try:
        handle = win32service.OpenService(manager, service.name, win32service.SERVICE_ALL_ACCESS)
        try:
            win32service.ChangeServiceConfig2(handle, win32service.SERVICE_CONFIG_FAILURE_ACTIONS, {
                "ResetPeriod": RESET_FAILURES_AFTER_S, "RebootMsg": None, "Command": None,
                "Actions": [(SC_ACTION[action], delay) for delay, action in FAILURE_ACTIONS]})
            win32service.ChangeServiceConfig2(handle, win32service.SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, True)
            win32service.ChangeServiceConfig2(handle, win32service.SERVICE_CONFIG_PRESHUTDOWN_INFO,
                                              service.stop_deadline_s * 1000)
        finally:
            win32service.CloseServiceHandle(handle)
    finally:
        win32service.CloseServiceHandle(manager)
    win32serviceutil.StartService(service.name)


def uninstall(name: str) -> None:
    """Stops (waiting for the graceful stop) and removes the service; the data dir and logs stay."""
    if win32serviceutil.QueryServiceStatus(name)[1] != win32service.SERVICE_STOPPED:
        win32serviceutil.StopServiceWithDeps(name, waitSecs=STOP_DEADLINE_S)
    win32serviceutil.RemoveService(name)


def status(name: str) -> str:
    state = win32serviceutil.QueryServiceStatus(name)[1]
    return STATES.get(state, f"state {state}")


def main(argv: list[str]) -> None:
    """The service process (the registered command line): hand this process to the service manager."""
    FiscaldService.argv = argv
    servicemanager.Initialize()
    servicemanager.PrepareToHostSingle(FiscaldService)
    servicemanager.StartServiceCtrlDispatcher()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    main(sys.argv[1:])
