"""``fiscald service install|uninstall|status``: fiscald as a system service, started at boot, on the machine-wide
data dir (systemd on Linux, a Windows service on Windows; docs/deployment.md)."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Annotated

import typer
from rich.console import Console

from fiscald.config import machine_data_dir
from fiscald.deploy import SERVICE_NAME

service_app = typer.Typer(help="Run fiscald as a system service (systemd on Linux, a Windows service).",
                          no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

DryRun = Annotated[bool, typer.Option("--dry-run", help="Print what would be written and run; change nothing")]
ServiceDataDir = Annotated[Path | None, typer.Option(
    "--data-dir", help="The service's data dir (default: /var/lib/fiscald, %ProgramData%\\fiscald)")]


def _windows() -> bool:
    return sys.platform == "win32"


def _need_admin() -> None:
    if sys.platform != "win32" and os.geteuid() != 0:
        err_console.print("Installing a service needs root: run it with sudo (or see --dry-run).")
        raise typer.Exit(1)


def _win32_glue() -> ModuleType:
    try:
        return importlib.import_module("fiscald.deploy.winservice")
    except ImportError as exc:
        err_console.print(f"The Windows service needs pywin32 ({exc}): pip install pywin32")
        raise typer.Exit(1) from None


@contextmanager
def _windows_errors(action: str) -> Iterator[None]:
    """pywin32 raises pywintypes.error (not importable elsewhere): say it plainly, no traceback."""
    try:
        yield
    except Exception as exc:
        err_console.print(f"service {action} failed: {exc} (run from an elevated prompt; "
                          "`fiscald service status` shows the state)")
        raise typer.Exit(1) from None


@contextmanager
def _refused_options() -> Iterator[None]:
    """An option that cannot go into a unit file or a service command line safely: say which, exit 2."""
    try:
        yield
    except ValueError as exc:
        err_console.print(f"service install: {exc}")
        raise typer.Exit(2) from None


@service_app.command("install")
def install(
    dry_run: DryRun = False,
    data_dir: ServiceDataDir = None,
    user: Annotated[str, typer.Option(help="Linux: the service's own user (created if missing)")] = SERVICE_NAME,
    python: Annotated[str, typer.Option(help="Interpreter the service runs (default: this one)")] = sys.executable,
) -> None:
    """Install and start the service; it then starts at boot and restarts after a failure."""
    if _windows():
        from fiscald.deploy import windows

        # another interpreter given: registered as it is (the venv bootstrap is for this one)
        in_venv = python == sys.executable and sys.prefix != sys.base_prefix
        with _refused_options():
            service = windows.definition(data_dir, python=python, in_venv=in_venv)
        console.print(service.describe())
        if dry_run:
            return
        with _windows_errors("install"):
            _win32_glue().install(service)
        console.print(f"Installed and started {service.name}.")
        return
    from fiscald.deploy import systemd

    with _refused_options():
        unit_options = systemd.options(python, user, data_dir)
    plan = systemd.install_plan(unit_options)
    console.print(plan.describe())
    closed = systemd.unreadable_by_others(Path(python))
    if closed is not None:
        err_console.print(f"Warning: the user {user} cannot enter {closed}, so it cannot run {python}: install "
                          "fiscald in a venv under /opt (docs/deployment.md) or pass --python.")
    if dry_run:
        return
    _need_admin()
    plan.apply()
    console.print(f"Installed and started {systemd.UNIT_PATH.name}; logs: journalctl -u {SERVICE_NAME}")


@service_app.command("uninstall")
def uninstall(dry_run: DryRun = False) -> None:
    """Stop and remove the service. The data dir (journal, configuration) and the logs stay."""
    if _windows():
        console.print(f"Stop and remove Windows service {SERVICE_NAME}; keep {machine_data_dir()}")
        if not dry_run:
            with _windows_errors("uninstall"):
                _win32_glue().uninstall(SERVICE_NAME)
        return
    from fiscald.deploy import systemd

    plan = systemd.uninstall_plan()
    console.print(plan.describe())
    if not dry_run:
        _need_admin()
        plan.apply()


@service_app.command("status")
def status() -> None:
    """Is the service installed and running; where are its data and logs."""
    if _windows():
        from fiscald.deploy import windows

        with _windows_errors("status"):
            console.print(f"{SERVICE_NAME}: {_win32_glue().status(SERVICE_NAME)}")
        console.print(f"data dir: {machine_data_dir()}; log: {windows.log_file(machine_data_dir())}")
        return
    from fiscald.deploy import systemd

    console.print(f"{SERVICE_NAME}: {systemd.status()}")
    console.print(f"data dir: {machine_data_dir()}; logs: journalctl -u {SERVICE_NAME}")
