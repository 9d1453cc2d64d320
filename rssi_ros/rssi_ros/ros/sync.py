"""The stamp-based synchronisation policy: which fixes and detections go with an image.

message_filters is not available everywhere the node runs, and its approximate-time policy would
not let an image go unanswered anyway, so this small policy does exactly what the node needs:

- every image is answered once (an estimate, or a counted skip), never queued indefinitely;
- a GPS fix is used when its header stamp is at most `fix_max_age_s` older (or `fix_max_lead_s`
  newer) than the image's; the nearest such fix wins;
- detections are matched to the image by header stamp within `detection_tolerance_s`;
- an image whose inputs are not all there yet may wait up to `max_wait_s` (arrival time) for them:
  detectors publish after the camera, so a matching DetectionArray usually arrives later. When the
  wait ends the image is answered with what is present (fewer modalities) or skipped for a
  missing fix. Detections are only waited for while the detector is alive (a DetectionArray
  arrived within `detector_timeout_s`), so a node without a detector never waits. `expect_detector`
  (called on activation) counts as such an arrival: the first images after start-up wait for their
  detections instead of being answered without boxes because the detector's first message, sent
  on another topic, is processed a moment after the image.

All judgements use header stamps (integer nanoseconds), never arrival times, so the policy behaves
the same with `use_sim_time` and bag replay as live; only the wait is measured on the arrival
(steady) clock passed in by the caller. No ROS imports: the policy is tested with plain values.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from rssi_ros.ros import reasons
from rssi_ros.ros.detection_conversion import DetectionSet
from rssi_ros.ros.fix_validation import Fix

NS = 1_000_000_000


@dataclass(frozen=True)
class SyncConfig:
    """Tolerances of the policy (seconds). See the module docstring for their meaning."""

    fix_max_age_s: float = 0.5
    fix_max_lead_s: float = 0.1
    detection_tolerance_s: float = 0.005
    max_wait_s: float = 0.05
    detector_timeout_s: float = 1.0
    max_pending: int = 4
    history: int = 32

    def __post_init__(self) -> None:
        for name in ("fix_max_age_s", "fix_max_lead_s", "detection_tolerance_s", "max_wait_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"sync.{name} must be a non-negative number, got {value}")
        if self.max_pending < 1 or self.history < 1:
            raise ValueError("sync.max_pending and sync.history must be at least 1")


@dataclass
class Frame:
    """One image (or trigger) with the inputs matched to it; `skip_reason` set when it cannot be answered."""

    stamp_ns: int
    payload: Any
    arrival: float
    rx: Fix | None = None
    tx: Fix | None = None
    detections: DetectionSet | None = None
    skip_reason: str | None = None
    waited_s: float = 0.0


@dataclass
class _Pending:
    stamp_ns: int
    payload: Any
    arrival: float
    extra: dict = field(default_factory=dict)


def check_stamp(stamp: int, now: int, max_age_s: float, max_lead_s: float) -> str | None:
    """Reason to reject a header stamp against the node clock, or None.

    `now == 0` (a sim clock that has not ticked yet) and limits of 0 disable the check.
    """
    if stamp <= 0:
        return reasons.ZERO_STAMP
    if now <= 0:
        return None
    if max_lead_s > 0 and stamp - now > max_lead_s * NS:
        return reasons.STAMP_FUTURE
    if max_age_s > 0 and now - stamp > max_age_s * NS:
        return reasons.STAMP_TOO_OLD
    return None


class SyncPolicy:
    """Buffers fixes and detections and answers images; all methods return the frames now resolved."""

    def __init__(
        self, config: SyncConfig, fixed_rx: Fix | None = None, detections_enabled: bool = True
    ) -> None:
        self.config = config
        self.fixed_rx = fixed_rx
        self.detections_enabled = detections_enabled
        self._rx: deque[Fix] = deque(maxlen=config.history)
        self._tx: deque[Fix] = deque(maxlen=config.history)
        self._dets: deque[DetectionSet] = deque(maxlen=config.history)
        self._pending: deque[_Pending] = deque()
        self._last_detection_arrival = -math.inf
        self._age_ns = round(config.fix_max_age_s * NS)
        self._lead_ns = round(config.fix_max_lead_s * NS)
        self._tol_ns = round(config.detection_tolerance_s * NS)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def pending_payloads(self) -> list[Any]:
        """The payloads of the waiting images, oldest first (the node counts them by source)."""
        return [p.payload for p in self._pending]

    def adopt(self, old: SyncPolicy) -> None:
        """Take over the fixes and detections another policy buffered (a parameter change at run
        time must not make the next frames wait or skip for lack of a fix)."""
        self._rx.extend(old._rx)
        self._tx.extend(old._tx)
        self._dets.extend(old._dets)
        self._last_detection_arrival = old._last_detection_arrival

    # -- inputs ---------------------------------------------------------------------------------
    def add_rx(self, fix: Fix, now: float) -> list[Frame]:
        self._rx.append(fix)
        return self._release(now)

    def add_tx(self, fix: Fix, now: float) -> list[Frame]:
        self._tx.append(fix)
        return self._release(now)

    def expect_detector(self, now: float) -> None:
        """Treat the detector as alive from `now` (start-up grace of `detector_timeout_s`)."""
        self._last_detection_arrival = max(self._last_detection_arrival, now)

    def add_detections(self, dets: DetectionSet, now: float) -> list[Frame]:
        self._dets.append(dets)
        self._last_detection_arrival = now
        return self._release(now)

    def add_image(self, stamp_ns: int, payload: Any, now: float) -> list[Frame]:
        """Offer an image; it is answered now, or waits (up to `max_wait_s`) for its inputs."""
        item = _Pending(stamp_ns, payload, now)
        out: list[Frame] = []
        if self._complete(item, now) or self.config.max_wait_s <= 0:
            out.append(self._frame(item, now))
            return out
        while len(self._pending) >= self.config.max_pending:
            out.append(self._frame(self._pending.popleft(), now))
        self._pending.append(item)
        return out

    def poll(self, now: float) -> list[Frame]:
        """Answer the images whose wait has run out (call from a timer while `pending`)."""
        return self._release(now)

    def flush(self, now: float) -> list[Frame]:
        """Answer every waiting image now (deactivation, shutdown)."""
        out = [self._frame(p, now) for p in self._pending]
        self._pending.clear()
        return out

    # -- matching -------------------------------------------------------------------------------
    def detector_alive(self, now: float) -> bool:
        return (
            self.detections_enabled and now - self._last_detection_arrival <= self.config.detector_timeout_s
        )

    def best_fix(self, buffer: deque[Fix], stamp_ns: int) -> tuple[Fix | None, bool]:
        """The fix nearest in stamp within the window, and whether the buffer held any fix at all."""
        best, best_dt = None, None
        for fix in buffer:
            dt = stamp_ns - fix.stamp_ns  # positive: the fix is older than the image
            if -self._lead_ns <= dt <= self._age_ns and (best_dt is None or abs(dt) < best_dt):
                best, best_dt = fix, abs(dt)
        return best, bool(buffer)

    def explain(self, frame: Frame) -> str:
        """Why a frame was skipped, in numbers: the nearest fixes' stamp offsets and the wait."""
        parts = [f"image stamp {frame.stamp_ns / NS:.3f} s, waited {frame.waited_s * 1e3:.0f} ms"]
        for name, buffer in (("tx", self._tx), ("rx", self._rx)):
            if buffer:
                dt = min((frame.stamp_ns - f.stamp_ns for f in buffer), key=abs) / NS
                parts.append(f"nearest {name} fix {dt * 1e3:+.1f} ms older")
        parts.append(
            f"window -{self.config.fix_max_lead_s * 1e3:.0f}..+{self.config.fix_max_age_s * 1e3:.0f} ms"
        )
        return "; ".join(parts)

    def match_detections(self, stamp_ns: int) -> DetectionSet | None:
        best, best_dt = None, None
        for dets in self._dets:
            dt = abs(stamp_ns - dets.stamp_ns)
            if dt <= self._tol_ns and (best_dt is None or dt < best_dt):
                best, best_dt = dets, dt
        return best

    def _rx_for(self, stamp_ns: int) -> tuple[Fix | None, bool]:
        if self.fixed_rx is not None:
            return self.fixed_rx, True
        return self.best_fix(self._rx, stamp_ns)

    def _complete(self, item: _Pending, now: float) -> bool:
        if self.best_fix(self._tx, item.stamp_ns)[0] is None or self._rx_for(item.stamp_ns)[0] is None:
            return False
        return not self.detector_alive(now) or self.match_detections(item.stamp_ns) is not None

    def _frame(self, item: _Pending, now: float) -> Frame:
        tx, any_tx = self.best_fix(self._tx, item.stamp_ns)
        rx, any_rx = self._rx_for(item.stamp_ns)
        frame = Frame(
            item.stamp_ns, item.payload, item.arrival, rx, tx, waited_s=max(0.0, now - item.arrival)
        )
        if self.detections_enabled:
            frame.detections = self.match_detections(item.stamp_ns)
        if tx is None:
            frame.skip_reason = reasons.STALE_TX_FIX if any_tx else reasons.NO_TX_FIX
        elif rx is None:
            frame.skip_reason = reasons.STALE_RX_FIX if any_rx else reasons.NO_RX_FIX
        return frame

    def _release(self, now: float) -> list[Frame]:
        if not self._pending:
            return []
        out: list[Frame] = []
        keep: deque[_Pending] = deque()
        for item in self._pending:
            if self._complete(item, now) or now - item.arrival >= self.config.max_wait_s:
                out.append(self._frame(item, now))
            else:
                keep.append(item)
        self._pending = keep
        return out
