"""Counters, rates and latency percentiles of the node, turned into one diagnostics status.

Counter keys are dotted (`images.skipped.no_tx_fix`, `tx_fix.rejected.non_finite`) and cumulative
since start, so a monitor (or a test) can check that they add up (`identities`):

    images.received       == images.answered       + sum(images.skipped.*)       + images.pending
    fix_triggers.received == fix_triggers.answered + sum(fix_triggers.skipped.*) + fix_triggers.pending
    <stream>.received     == <stream>.accepted     + sum(<stream>.rejected.*)   (rx_fix, tx_fix, detections)

`internal_errors.<callback>` counts exceptions the node did not anticipate (bugs); the message
being handled is then counted under the `internal_error` reason, so the identities still hold.
Rates are per reporting period; latency percentiles cover the last `latency_window` estimates.
The level judges the period too: without a camera (`camera_enabled` false) the Tx fixes that
trigger estimates (`fix_triggers`) stand in for images, so a period in which none arrived, or
fewer than half were answered, warns just as it would for images.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

# diagnostic_msgs/DiagnosticStatus levels (as numbers so this module needs no ROS).
OK, WARN, ERROR = 0, 1, 2
DEFAULT_LATENCY_WINDOW = 1000
STREAMS = ("images", "fix_triggers", "rx_fix", "tx_fix", "detections", "estimates")
# Streams whose messages are answered (estimate or skip) and may wait in the sync policy meanwhile.
ANSWERED_STREAMS = ("images", "fix_triggers")
# Streams whose messages are accepted or rejected on arrival.
ACCEPTED_STREAMS = ("rx_fix", "tx_fix", "detections")
INTERNAL_ERRORS = "internal_errors"
# How the status message names what an answered stream receives.
STREAM_WORDS = {"images": "images", "fix_triggers": "Tx fixes"}


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
        # Lasting problems of the configuration (e.g. a detections type that does not import): the
        # level is ERROR while any is present, and the message says what they are.
        self.problems: dict[str, str] = {}

    def count(self, key: str, n: int = 1) -> None:
        self.counters[key] += n
        stream, _, rest = key.partition(".")
        if rest == "received" and stream in STREAMS:
            self._period[stream] += n
        elif stream == INTERNAL_ERRORS:
            self._period[INTERNAL_ERRORS] += n

    def received(self, stream: str) -> None:
        self.count(f"{stream}.received")

    def rejected(self, stream: str, reason: str) -> None:
        self.count(f"{stream}.rejected.{reason}")

    def skipped(self, reason: str) -> None:
        self.count(f"images.skipped.{reason}")

    def answered(self, latency_ms: float, stream: str = "images") -> None:
        """An estimate published for a message of `stream` (images, or fix_triggers without camera)."""
        self.count(f"{stream}.answered")
        self._period["estimates"] += 1
        self._period[f"{stream}.answered"] += 1  # judged against the stream's received, per period
        self._latency.append(latency_ms)

    def total(self, prefix: str) -> int:
        return sum(v for k, v in self.counters.items() if k.startswith(prefix))

    def snapshot(
        self,
        now: float,
        pending: Mapping[str, int] | None = None,
        model_loaded: bool = True,
        camera_enabled: bool = True,
    ) -> DiagnosticsSnapshot:
        """The status of the period since the last snapshot; `pending` counts waiting messages by stream."""
        elapsed = None if self._period_start is None else now - self._period_start
        rates = {s: (self._period[s] / elapsed if elapsed else 0.0) for s in STREAMS}
        p50, p99, worst = percentiles(self._latency)
        # Without a camera the Tx fixes that trigger estimates are what must be answered.
        stream = "images" if camera_enabled else "fix_triggers"
        received, answered = self._period[stream], self._period[f"{stream}.answered"]
        internal = self._period[INTERNAL_ERRORS]
        self._period.clear()
        self._period_start = now

        errors = list(self.problems.values())
        if not model_loaded:
            text = "no model loaded: set the `checkpoint` parameter"
            if self.info.get("model.load_error"):
                text += f" ({self.info['model.load_error']})"
            errors.insert(0, text)
        throughput = f"{rates['estimates']:.1f} estimates/s, p99 latency {p99:.1f} ms"
        if errors:
            level, message = ERROR, "; ".join(errors)
        elif internal:
            level, message = WARN, f"{internal} internal errors in this period (a bug: see the log)"
        else:
            level, message = _throughput_level(stream, bool(elapsed), received, answered, throughput)
            if not camera_enabled:
                message = f"camera disabled (camera.enabled false): Tx fixes trigger estimates; {message}"

        pending = pending or {}
        values = [(k, v) for k, v in sorted(self.info.items())]
        values += [(f"rate_hz.{s}", f"{rates[s]:.2f}") for s in STREAMS]
        values += [("latency_ms.p50", f"{p50:.3f}"), ("latency_ms.p99", f"{p99:.3f}")]
        values += [("latency_ms.max", f"{worst:.3f}")]
        values += [(f"{s}.pending", str(int(pending.get(s, 0)))) for s in ANSWERED_STREAMS]
        values += [(k, str(v)) for k, v in sorted(self.counters.items())]
        return DiagnosticsSnapshot(level, message, values)


def _throughput_level(
    stream: str, whole_period: bool, received: int, answered: int, throughput: str
) -> tuple[int, str]:
    """WARN when a whole period brought nothing of `stream`, or fewer than half of it was answered."""
    what = STREAM_WORDS[stream]
    if whole_period and received == 0:
        return WARN, f"no {what} received"
    if received and answered < received / 2:
        return WARN, f"answered {answered} of {received} {what} (see {stream}.skipped.*)"
    return OK, throughput


def identities(values: Mapping[str, str]) -> dict[str, tuple[int, int]]:
    """Each counter identity of the module docstring as (left side, right side), from snapshot values.

    A monitor checks `left == right` for every entry; the DDS tests do so after the fuzz run.
    """

    def num(key: str) -> int:
        return int(values.get(key, "0"))

    def total(prefix: str) -> int:
        return sum(int(v) for k, v in values.items() if k.startswith(prefix))

    out = {}
    for s in ANSWERED_STREAMS:
        right = num(f"{s}.answered") + total(f"{s}.skipped.") + num(f"{s}.pending")
        out[s] = (num(f"{s}.received"), right)
    for s in ACCEPTED_STREAMS:
        out[s] = (num(f"{s}.received"), num(f"{s}.accepted") + total(f"{s}.rejected."))
    return out
