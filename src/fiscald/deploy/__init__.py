"""Running fiscald as a service: a systemd unit on Linux, a Windows service (docs/deployment.md)."""

import unicodedata

SERVICE_NAME = "fiscald"
DISPLAY_NAME = "fiscald fiscal device driver"
DESCRIPTION = "Local service between the POS program and the fiscal register / bank POS terminal (FisCool-compatible)."
# How long a stop waits for requests in flight before cancelling them; the device operation in progress then still
# finishes (DeviceManager.stop) and anything unanswered is in the operation log as outcome unknown after a restart.
GRACEFUL_STOP_S = 15
# The service manager's deadline for a stop: the graceful part plus the device operation in progress.
STOP_DEADLINE_S = 45


def refuse_unsafe(option: str, value: str) -> None:
    """ValueError naming ``option`` when ``value`` holds a control character (a newline would start a new
    directive in a unit file, or end the Windows command line's argument) or is not valid text."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{option}: {value!r} is not valid text (undecodable bytes)") from None
    bad = next((ch for ch in value if unicodedata.category(ch) in ("Cc", "Zl", "Zp")), None)
    if bad is not None:
        raise ValueError(f"{option}: {value!r} holds the control character U+{ord(bad):04X}; a service's "
                         "options cannot")
