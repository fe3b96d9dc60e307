"""Running fiscald as a service: a systemd unit on Linux, a Windows service (docs/deployment.md)."""

SERVICE_NAME = "fiscald"
DISPLAY_NAME = "fiscald fiscal device driver"
DESCRIPTION = "Local service between the POS program and the fiscal register / bank POS terminal (FisCool-compatible)."
# How long a stop waits for requests in flight before cancelling them; the device operation in progress then still
# finishes (DeviceManager.stop) and anything unanswered is in the operation log as outcome unknown after a restart.
GRACEFUL_STOP_S = 15
# The service manager's deadline for a stop: the graceful part plus the device operation in progress.
STOP_DEADLINE_S = 45
