"""What the shipper reports: in ``/health`` (``central``), in ``/metrics`` and in ``fiscald central status``."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ShipperStatus:
    """Written by the shipper's thread only; readers take :meth:`snapshot` (plain values, no locking needed)."""

    state: str = "disabled"  # disabled | connecting | shipping | idle | error
    target: str | None = None  # host:port/database, never user or password
    store_id: str | None = None
    source: str = "none"  # where the configuration came from: env | settings | none
    backlog_journal: int = 0
    backlog_outcomes: int = 0
    backlog_oldest: float | None = None
    shipped: dict[str, int] = field(default_factory=lambda: {"journal": 0, "outcomes": 0})
    last_entry: dict[str, Any] | None = None  # the last journal entry the central database holds
    last_success_at: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    errors: int = 0

    def snapshot(self) -> dict[str, Any]:
        age = None if self.backlog_oldest is None else round(max(0.0, time.time() - self.backlog_oldest), 3)
        return {
            "state": self.state,
            "target": self.target,
            "store_id": self.store_id,
            "source": self.source,
            "backlog": {"journal": self.backlog_journal, "outcomes": self.backlog_outcomes, "age_s": age},
            "shipped": dict(self.shipped),
            "last_entry": self.last_entry,
            "last_success_at": iso_time(self.last_success_at),
            "last_error": self.last_error,
            "last_error_at": iso_time(self.last_error_at),
        }


def iso_time(epoch_s: float | None) -> str | None:
    """A moment as ISO 8601 local time with its UTC offset, like every other time in the API (``/metrics`` keeps
    seconds since the epoch, Prometheus' convention)."""
    if epoch_s is None:
        return None
    return dt.datetime.fromtimestamp(epoch_s, dt.UTC).astimezone().isoformat(timespec="milliseconds")


def render_metrics(status: ShipperStatus) -> str:
    """Prometheus text lines for the shipper (appended to ``/metrics``)."""
    now = time.time()
    age = 0.0 if status.backlog_oldest is None else max(0.0, now - status.backlog_oldest)
    up = 0 if status.state in ("error", "connecting") else 1
    out = ["# HELP fiscald_central_enabled 1 when a central database is configured.",
           "# TYPE fiscald_central_enabled gauge",
           f"fiscald_central_enabled {0 if status.state == 'disabled' else 1}",
           "# HELP fiscald_central_up 0 while the central database cannot be reached or refuses a batch.",
           "# TYPE fiscald_central_up gauge",
           f"fiscald_central_up {up}",
           "# HELP fiscald_central_backlog Rows not yet shipped to the central database, by stream.",
           "# TYPE fiscald_central_backlog gauge",
           f'fiscald_central_backlog{{stream="journal"}} {status.backlog_journal}',
           f'fiscald_central_backlog{{stream="outcomes"}} {status.backlog_outcomes}',
           "# HELP fiscald_central_backlog_age_seconds Age of the oldest row not yet shipped (0: none).",
           "# TYPE fiscald_central_backlog_age_seconds gauge",
           f"fiscald_central_backlog_age_seconds {age:.3f}",
           "# HELP fiscald_central_shipped_total Rows shipped by this process, by stream.",
           "# TYPE fiscald_central_shipped_total counter",
           *(f'fiscald_central_shipped_total{{stream="{s}"}} {n}' for s, n in sorted(status.shipped.items())),
           "# HELP fiscald_central_errors_total Failed connections and batches.",
           "# TYPE fiscald_central_errors_total counter",
           f"fiscald_central_errors_total {status.errors}",
           "# HELP fiscald_central_last_success_timestamp_seconds When a batch or heartbeat last committed.",
           "# TYPE fiscald_central_last_success_timestamp_seconds gauge",
           f"fiscald_central_last_success_timestamp_seconds {status.last_success_at or 0:.3f}"]
    return "\n".join(out) + "\n"
