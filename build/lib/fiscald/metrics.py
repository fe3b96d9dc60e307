"""Prometheus text metrics: operations by type and outcome, a latency histogram, queue depth per device."""

from __future__ import annotations

from collections import Counter

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self) -> None:
        self.operations: Counter[tuple[str, str]] = Counter()  # (operation, outcome code) -> count
        self.buckets: Counter[float] = Counter()
        self.latency_sum = 0.0
        self.latency_count = 0

    def record(self, operation: str, status: int, seconds: float) -> None:
        self.operations[(operation, str(status))] += 1
        self.latency_sum += seconds
        self.latency_count += 1
        for bound in BUCKETS:
            if seconds <= bound:
                self.buckets[bound] += 1
                break

    def render(self, queue_depths: dict[str, int]) -> str:
        out = ["# HELP fiscald_operations_total Operations executed on devices, by operation and outcome code.",
               "# TYPE fiscald_operations_total counter"]
        for (operation, status), count in sorted(self.operations.items()):
            out.append(f'fiscald_operations_total{{operation="{operation}",status="{status}"}} {count}')
        out += ["# HELP fiscald_operation_seconds Time an operation spent on its device.",
                "# TYPE fiscald_operation_seconds histogram"]
        cumulative = 0
        for bound in BUCKETS:
            cumulative += self.buckets[bound]
            out.append(f'fiscald_operation_seconds_bucket{{le="{bound}"}} {cumulative}')
        out.append(f'fiscald_operation_seconds_bucket{{le="+Inf"}} {self.latency_count}')
        out.append(f"fiscald_operation_seconds_sum {self.latency_sum:.6f}")
        out.append(f"fiscald_operation_seconds_count {self.latency_count}")
        out += ["# HELP fiscald_queue_depth Operations waiting or running per device.",
                "# TYPE fiscald_queue_depth gauge"]
        for device_id, depth in sorted(queue_depths.items()):
            out.append(f'fiscald_queue_depth{{device_id="{device_id}"}} {depth}')
        return "\n".join(out) + "\n"
