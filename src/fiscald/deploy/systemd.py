"""The systemd unit and the steps that install, remove and inspect it (Linux)."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from fiscald.config import DATA_DIR_ENV, machine_data_dir
from fiscald.deploy import DISPLAY_NAME, GRACEFUL_STOP_S, SERVICE_NAME, STOP_DEADLINE_S, refuse_unsafe
from fiscald.deploy.plan import Plan

UNIT_PATH = Path("/etc/systemd/system") / f"{SERVICE_NAME}.service"
SERIAL_GROUP = "dialout"  # owns /dev/ttyS*, /dev/ttyUSB*, /dev/ttyACM* on Debian, Ubuntu and Fedora
USER_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")  # what useradd takes by default, and systemd's User= too


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
    """The unit's options, checked: ValueError naming the option when one cannot go into a unit safely."""
    folder = data_dir or machine_data_dir(platform="linux")
    refuse_unsafe("--python", python)
    refuse_unsafe("--data-dir", str(folder))
    refuse_unsafe("--user", user)
    if not python.startswith("/"):
        raise ValueError(f"--python: {python!r} is not an absolute path (the service runs it without a PATH search)")
    if any(ch in python for ch in "\"'\\"):
        raise ValueError(f"--python: {python!r} holds a quote or a backslash, which systemd refuses in the path of "
                         "the program a unit runs")
    if not folder.is_absolute():
        raise ValueError(f"--data-dir: {str(folder)!r} is not an absolute path")
    if not USER_NAME.fullmatch(user):
        raise ValueError(f"--user: {user!r} is not a user name (1-32 lower-case letters, digits, '_' or '-', "
                         "starting with a letter or '_')")
    group = SERIAL_GROUP if _exists("group", SERIAL_GROUP) else None  # a missing group would stop the unit starting
    return UnitOptions(python, user, folder, group)


def quoted(value: str, *, expands_dollar: bool) -> str:
    """``value`` as one double-quoted word of a unit file (systemd.syntax(7), "Quoting"): backslash and double
    quote escaped and ``%`` doubled (specifiers are expanded in every setting used here); ``$`` doubled where
    variables are expanded: a command line's arguments (systemd.service(5), "Command lines"), not its program
    nor ``Environment=``. Control characters never get here (:func:`fiscald.deploy.refuse_unsafe`)."""
    text = value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'"{text.replace("$", "$$") if expands_dollar else text}"'


def render_unit(opts: UnitOptions) -> str:
    """The unit: its own user, the machine-wide data dir, restarted always, stopped gracefully, logs to journald."""
    default_dir = opts.data_dir == machine_data_dir(platform="linux")
    arguments = ["-m", "fiscald", "serve", "--data-dir", str(opts.data_dir), "--graceful-timeout",
                 str(GRACEFUL_STOP_S), "--log-level", "info"]
    command = " ".join([quoted(opts.python, expands_dollar=False),
                        *(quoted(word, expands_dollar=True) for word in arguments)])
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
        f"Environment={quoted(f'{DATA_DIR_ENV}={opts.data_dir}', expands_dollar=False)}",
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
