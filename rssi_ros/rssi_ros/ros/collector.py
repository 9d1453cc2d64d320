"""An rclpy node that collects the predictor's estimates (by image stamp) and its diagnostics.

Used by `python -m rssi_ros demo` to check the node against offline inference; a user's own
consumer of `/rssi_predictor/estimate` looks the same. It runs in its own rclpy context so that it
can live in a process that also does other work (training, evaluation) before and after.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.executors import SingleThreadedExecutor

from rssi_ros_msgs.msg import RssiEstimate

NS = 1_000_000_000
DEFAULT_ESTIMATE_TOPIC = "/rssi_predictor/estimate"
DIAGNOSTICS_PREFIX = "rssi_predictor"
QUEUE_DEPTH = 1000


class EstimateCollector:
    """Subscribes to the estimate topic and /diagnostics; `spin_until` drives it."""

    def __init__(self, topic: str = DEFAULT_ESTIMATE_TOPIC, name: str = "rssi_estimate_collector") -> None:
        self.topic = topic
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.estimates: dict[int, Any] = {}
        self.diagnostics: dict[str, str] = {}
        self.node.create_subscription(RssiEstimate, topic, self._on_estimate, QUEUE_DEPTH)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)

    def _on_estimate(self, msg: RssiEstimate) -> None:
        self.estimates[msg.header.stamp.sec * NS + msg.header.stamp.nanosec] = msg

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name.startswith(DIAGNOSTICS_PREFIX):
                self.diagnostics = {kv.key: kv.value for kv in status.values}

    def publisher_count(self) -> int:
        return self.node.count_publishers(self.topic)

    def spin_until(self, condition: Callable[[], bool], timeout_s: float, alive: Callable[[], bool]) -> bool:
        """Spin until `condition()`; give up after `timeout_s` or as soon as `alive()` is false."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.05)
            if condition():
                return True
            if not alive():
                break
        return condition()

    def counters(self, prefix: str) -> dict[str, int]:
        """The diagnostics values under `prefix` that are counts (e.g. images.skipped.)."""
        out = {}
        for key, value in self.diagnostics.items():
            if key.startswith(prefix) and value.lstrip("-").isdigit():
                out[key] = int(value)
        return out

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)
