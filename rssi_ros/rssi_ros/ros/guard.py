"""The callback guard: no exception reaches the executor, and every message stays accounted for.

An exception escaping a subscription or timer callback would end `spin`, and with it the node.
`CallbackGuard.wrap` catches it: the error is logged (its traceback once per callback and
exception type, then throttled), counted as `internal_errors.<callback>`, and the message being
handled, if it was counted as received (`receive`) but not yet accounted for (`settle`), is
counted as skipped (answered streams) or rejected (accepted streams) with reason
`internal_error`, so the counter identities of `diagnostics` still hold and the node carries on.
`attempt` does the same for a callback that must answer (a parameter set), with a fallback answer.
No rclpy: the logger is anything with `error`.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from rssi_ros.ros import reasons
from rssi_ros.ros.diagnostics import ANSWERED_STREAMS, INTERNAL_ERRORS, DiagnosticsAggregator
from rssi_ros.ros.throttled_log import ThrottledLog

T = TypeVar("T")


class CallbackGuard:
    """Wraps callbacks (`wrap`) and tracks the message being handled (`receive`, `settle`)."""

    def __init__(self, diag: DiagnosticsAggregator, logger: Any, throttled: ThrottledLog, name: str) -> None:
        self._diag = diag
        self._logger = logger
        self._throttled = throttled
        self._fallback = logging.getLogger(name)  # when the node's logger itself fails
        self._tracebacks: set[tuple[str, str]] = set()  # (callback, exception type) already logged in full
        self._unsettled: str | None = None  # stream of the message received but not yet accounted for

    def wrap(self, where: str, callback: Callable[..., None]) -> Callable[..., None]:
        """`callback` such that no exception reaches the executor (it would end spin, and the node).

        What escapes is an internal error (`internal_error`); the message being handled, if it
        was counted as received but not yet accounted for, is counted under `internal_error`.
        """

        def guarded(*args: Any) -> None:
            self._unsettled = None
            try:
                callback(*args)
            except Exception as exc:
                self.internal_error(where, exc, self._unsettled)
            finally:
                self._unsettled = None

        guarded.__name__ = f"guarded_{where}"
        return guarded

    def attempt(
        self,
        where: str,
        action: Callable[[], T],
        fallback: Callable[[Exception], T],
        passes: tuple[type[Exception], ...] = (),
    ) -> T:
        """`action()`; if it raises, the exception is an internal error and `fallback(exc)` answers.

        For callbacks that owe their caller a value (a parameter set owes SetParametersResults):
        `wrap` would return None, which rclpy turns into an exception of its own. Exceptions of
        `passes` are the caller's mistake by contract (rclpy's ParameterNotDeclaredException), not
        bugs: they reach the caller unchanged.
        """
        try:
            return action()
        except passes:
            raise
        except Exception as exc:
            self.internal_error(where, exc)
            return fallback(exc)

    def receive(self, stream: str) -> None:
        """A message of `stream` arrived: counted as received, to be accounted for by `settle`."""
        self._diag.received(stream)
        self._unsettled = stream

    def settle(self, stream: str) -> None:
        """The message of `stream` being handled is accounted for (accepted, rejected, skipped, waiting)."""
        if self._unsettled == stream:
            self._unsettled = None

    def internal_error(self, where: str, exc: Exception, stream: str | None = None) -> None:
        """Count and log an unexpected exception: the traceback once per (callback, type), then throttled."""
        key = f"{INTERNAL_ERRORS}.{where}"
        self._diag.count(key)
        if stream is not None:
            kind = "skipped" if stream in ANSWERED_STREAMS else "rejected"
            self._diag.count(f"{stream}.{kind}.{reasons.INTERNAL_ERROR}")
        try:
            self._report(where, key, exc)
        except Exception:  # the report itself failed: it must still never reach the executor
            self._fallback.exception(f"internal error in the {where} callback, not logged")

    def _report(self, where: str, key: str, exc: Exception) -> None:
        signature = (where, type(exc).__name__)
        if signature not in self._tracebacks:
            self._tracebacks.add(signature)
            self._throttled.mark(key)
            trace = "".join(traceback.format_exception(exc)).rstrip()
            self._logger.error(
                f"internal error in the {where} callback (a bug; the node carries on):\n{trace}"
            )
        else:
            self._throttled.log(
                key, f"internal error in the {where} callback: {type(exc).__name__}: {exc}", True
            )
