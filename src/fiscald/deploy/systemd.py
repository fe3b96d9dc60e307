"""The systemd unit and the steps that install, remove and inspect it (Linux)."""

from __future__ import annotations

import shlex
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from fiscald.config import DATA_DIR_ENV, machine_data_dir
from fiscald.deploy import DISPLAY_NAME, GRACEFUL_STOP_S, SERVICE_NAME, STOP_DEADLINE_S
from fiscald.deploy.plan import Plan

UNIT_PATH = Path("/etc/systemd/system") / f"{SERVICE_NAME}.service"
SERIAL_GROUP = "dialout"  # owns /dev/ttyS*, /dev/ttyUSB*, /dev/ttyACM* on Debian, Ubuntu and Fedora


@dataclass(frozen=True)
class UnitOptions:
    python: str
    user: str
    data_dir: Path
    serial_group: str | None


def _exists(lookup: str, name: str) -> bool:
    if sys.platform == "win32":  # no users or groups of this kind (and no systemd)
        return False
    import grp
    import pwd

    try:
        (pwd.getpwnam if lookup == "user" else grp.getgrnam)(name)
    except KeyError:
        return False
    return True


def options(python: str, user: str, data_dir: Path | None) -> UnitOptions:
    group = SERIAL_GROUP if _exists("group", SERIAL_GROUP) else None  # a missing group would stop the unit starting
    return UnitOptions(python, user, data_dir or machine_data_dir(platform="linux"), group)


def render_unit(opts: UnitOptions) -> str:
    """The unit: its own user, the machine-wide data dir, restarted always, stopped gracefully, logs to journald."""
    default_dir = opts.data_dir == machine_data_dir(platform="linux")
    command = shlex.join([opts.python, "-m", "fiscald", "serve", "--data-dir", str(opts.data_dir),
                          "--graceful-timeout", str(GRACEFUL_STOP_S), "--log-level", "info"])
    lines = [
        "[Unit]",
        f"Description={DISPLAY_NAME}",
        "After=network.target",
        "# a driver never gives up: keep restarting however often it fails",
        "StartLimitIntervalSec=0",
        "",
        "[Service]",
        "Type=exec",
        f"User={opts.user}",
        f"Group={opts.user}",
        *([f"SupplementaryGroups={opts.serial_group}"] if opts.serial_group else []),
        f"Environment={DATA_DIR_ENV}={opts.data_dir}",
        "Environment=PYTHONUNBUFFERED=1",
        f"ExecStart={command}",
        *(["StateDirectory=fiscald", "StateDirectoryMode=0750"] if default_dir else []),
        "UMask=0027",
        "Restart=always",
        "RestartSec=5",
        "# SIGTERM: stop accepting, finish what is in flight (at most --graceful-timeout), then the device operation",
        "# in progress; anything unanswered is in the operation log and answered 1010 after the restart.",
        "KillSignal=SIGTERM",
        "KillMode=mixed",
        f"TimeoutStopSec={STOP_DEADLINE_S}",
        "StandardOutput=journal",
        "StandardError=journal",
        f"SyslogIdentifier={SERVICE_NAME}",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "ProtectSystem=full",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ]
    return "\n".join(lines)


def install_plan(opts: UnitOptions, unit_path: Path = UNIT_PATH) -> Plan:
    commands: list[list[str]] = []
    if not _exists("user", opts.user):
        commands.append(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", str(opts.data_dir),
                         "--shell", "/usr/sbin/nologin", "--comment", DISPLAY_NAME, opts.user])
    if opts.data_dir != machine_data_dir(platform="linux"):
        commands.append(["install", "-d", "-o", opts.user, "-g", opts.user, "-m", "0750", str(opts.data_dir)])
    # restart, not just start: installing again (new options, an upgraded Python) takes effect at once
    commands += [["systemctl", "daemon-reload"], ["systemctl", "enable", unit_path.name],
                 ["systemctl", "restart", unit_path.name]]
    return Plan(files=[(unit_path, render_unit(opts))], commands=commands)


def unreadable_by_others(path: Path) -> Path | None:
    """The first folder on ``path`` that another user (the service's) cannot enter, if any."""
    for folder in reversed(path.parents):
        try:
            if not folder.stat().st_mode & stat.S_IXOTH:
                return folder
        except OSError:
            return folder
    return None


def uninstall_plan(unit_path: Path = UNIT_PATH) -> Plan:
    """Stops and removes the unit; the data dir (journal, configuration) and the user stay."""
    return Plan(commands=[["systemctl", "disable", "--now", unit_path.name], ["rm", "-f", str(unit_path)],
                          ["systemctl", "daemon-reload"]])


def status(unit_path: Path = UNIT_PATH) -> str:
    if not unit_path.exists():
        return f"not installed ({unit_path} does not exist)"
    run = subprocess.run(["systemctl", "show", unit_path.name, "--property=ActiveState,SubState,UnitFileState"],
                         capture_output=True, text=True, encoding="utf-8", check=False)
    fields = dict(line.split("=", 1) for line in run.stdout.splitlines() if "=" in line)
    if run.returncode != 0 or not fields:
        return f"installed ({unit_path}); systemctl cannot tell its state: {run.stderr.strip()}"
    return (f"installed ({unit_path}): {fields.get('ActiveState')} ({fields.get('SubState')}), "
            f"{fields.get('UnitFileState')} at boot")
