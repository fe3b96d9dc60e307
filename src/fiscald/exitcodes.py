"""The exit codes of the ``fiscald`` commands, in one table so that each number means one thing everywhere
(docs/quickstart.md and docs/deployment.md, "Exit codes"; docs/manage.md, "Command line"). ``serve`` has one per
kind of start failure, so a service manager's log tells them apart."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # the command ran and failed (the server or the validation refused it), or the server stopped on an
    # error after it had started
    REFUSED = 2  # refused before doing anything: bad usage, a data dir that does not exist or cannot be used, a
    # non-loopback address without a token, no running server for a command that needs one
    PORT_IN_USE = 3  # serve: another program (or another fiscald) listens on the port
    DATA_DIR_IN_USE = 4  # serve: another fiscald server runs on this data dir
    CANNOT_LISTEN = 5  # serve: the address is not this machine's, or listening there is not allowed (privileged port)
    START_FAILED = 6  # serve: the server could not start for another reason (see the log: its start-up failed)
