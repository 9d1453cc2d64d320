"""Repeated warnings (the same skip reason at 30 fps) logged at most once per period per counter key.

A broken driver must be visible in the log at 3 am without flooding it: each counter key is
logged at most once per `WARN_THROTTLE_S`, with its running count. No rclpy: the logger is
anything with `warning` and `error` (the node's rclpy logger in the node).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

# How often a repeated warning (same reason) may be logged.
WARN_THROTTLE_S = 5.0


class ThrottledLog:
    """Log once per `period_s` per counter key, with the running count read from `counts`."""

    def __init__(
        self,
        logger: Any,
        counts: Mapping[str, int],
        period_s: float = WARN_THROTTLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._counts = counts
        self._period_s = period_s
        self._clock = clock
        self._last: dict[str, float] = {}

    def mark(self, key: str) -> None:
        """`key` was just logged another way (in full): its next throttled line waits a period."""
        self._last[key] = self._clock()

    def log(self, key: str, text: str, error: bool = False) -> None:
        now = self._clock()
        if now - self._last.get(key, -math.inf) >= self._period_s:
            self._last[key] = now
            line = f"{text} [{self._counts[key]} so far]"
            # Two call sites: rclpy refuses a second severity from the same line of code.
            if error:
                self._logger.error(line)
            else:
                self._logger.warning(line)
