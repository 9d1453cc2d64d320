"""Counters, rates and latency percentiles of the node, turned into one diagnostics status.

Counter keys are dotted (`images.skipped.no_tx_fix`, `tx_fix.rejected.non_finite`) and cumulative
since start, so a monitor (or a test) can check that they add up:
`images.received == images.answered + sum(images.skipped.*) + images.pending`, and likewise
`<stream>.received == <stream>.accepted + sum(<stream>.rejected.*)` for fixes and detections.
Rates are per reporting period; latency percentiles cover the last `latency_window` estimates.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

# diagnostic_msgs/DiagnosticStatus levels (as numbers so this module needs no ROS).
OK, WARN, ERROR = 0, 1, 2
DEFAULT_LATENCY_WINDOW = 1000
STREAMS = ("images", "rx_fix", "tx_fix", "detections", "estimates")


@dataclass
class DiagnosticsSnapshot:
    """What one /diagnostics status says: level, a one-line message and key/value pairs."""

    level: int
    message: str
    values: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, str]:
        return dict(self.values)


def percentiles(samples: Iterable[float]) -> tuple[float, float, float]:
    """p50, p99 and max of the samples (NaN when there are none)."""
    arr = np.fromiter(samples, dtype=np.float64)
    if arr.size == 0:
        return float("nan"), float("nan"), float("nan")
    p50, p99 = np.percentile(arr, [50, 99])
    return float(p50), float(p99), float(arr.max())


class DiagnosticsAggregator:
    """Collects what the node did; `snapshot(now)` reports it and starts a new rate period."""

    def __init__(self, latency_window: int = DEFAULT_LATENCY_WINDOW) -> None:
        self.counters: Counter[str] = Counter()
        self._period: Counter[str] = Counter()
        self._latency: deque[float] = deque(maxlen=latency_window)
        self._period_start: float | None = None
        self.info: dict[str, str] = {}

    def count(self, key: str, n: int = 1) -> None:
        self.counters[key] += n
        stream, _, rest = key.partition(".")
        if rest == "received" and stream in STREAMS:
            self._period[stream] += n

    def received(self, stream: str) -> None:
        self.count(f"{stream}.received")

    def rejected(self, stream: str, reason: str) -> None:
        self.count(f"{stream}.rejected.{reason}")

    def skipped(self, reason: str) -> None:
        self.count(f"images.skipped.{reason}")

    def answered(self, latency_ms: float) -> None:
        self.count("images.answered")
        self._period["estimates"] += 1
        self._latency.append(latency_ms)

    def total(self, prefix: str) -> int:
        return sum(v for k, v in self.counters.items() if k.startswith(prefix))

    def snapshot(self, now: float, pending: int = 0, model_loaded: bool = True) -> DiagnosticsSnapshot:
        elapsed = None if self._period_start is None else now - self._period_start
        rates = {s: (self._period[s] / elapsed if elapsed else 0.0) for s in STREAMS}
        p50, p99, worst = percentiles(self._latency)
        images, answered = self._period["images"], self._period["estimates"]
        self._period.clear()
        self._period_start = now

        if not model_loaded:
            level, message = ERROR, "no model loaded: set the `checkpoint` parameter"
            if self.info.get("model.load_error"):
                message += f" ({self.info['model.load_error']})"
        elif elapsed and images == 0:
            level, message = WARN, "no images received"
        elif images and answered < images / 2:
            level, message = WARN, f"answered {answered} of {images} images (see images.skipped.*)"
        else:
            level, message = OK, f"{rates['estimates']:.1f} estimates/s, p99 latency {p99:.1f} ms"

        values = [(k, v) for k, v in sorted(self.info.items())]
        values += [(f"rate_hz.{s}", f"{rates[s]:.2f}") for s in STREAMS]
        values += [("latency_ms.p50", f"{p50:.3f}"), ("latency_ms.p99", f"{p99:.3f}")]
        values += [("latency_ms.max", f"{worst:.3f}"), ("images.pending", str(pending))]
        values += [(k, str(v)) for k, v in sorted(self.counters.items())]
        return DiagnosticsSnapshot(level, message, values)
