"""The exit codes of ``fiscald serve`` (and the Windows service's process), one per kind of start failure, so a
service manager's log tells them apart (docs/deployment.md, "Exit codes"). Every command exits 0 on success."""

OK = 0
FAILED = 1  # the server stopped on an error after it had started, or an unexpected error
REFUSED = 2  # the options or settings forbid the start (a non-loopback address without an api_token, a bad data dir)
PORT_IN_USE = 3  # another program (or another fiscald) listens on the port
CANNOT_LISTEN = 4  # the address is not this machine's, or listening there is not allowed (a privileged port)
START_FAILED = 5  # the server could not start for another reason (see the log: its start-up failed)
