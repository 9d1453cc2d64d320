"""Replay a bag into a running ROS graph: recorded bytes unchanged (header stamps survive) plus /clock.

Like `ros2 bag play --clock`, for machines without rosbag2: nodes started with `use_sim_time:=true`
follow the bag's time, so stamp-based logic (the predictor's sync policy, its stale-stamp checks)
behaves as it did when the data was recorded. A bag that holds /clock itself replays that instead of
a generated clock.

Publishers are reliable with a deep queue by default, so a subscriber that matched before the
first message gets every message; `wait_for_subscribers` waits for those matches (a handshake,
not a sleep).
"""

from __future__ import annotations

import importlib
import logging
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosbags.highlevel import AnyReader

from rssi_ros.bags.topics import CLOCK_TYPE, COMPRESSED_TYPE, DETECTIONS_TYPE, FIX_TYPE, IMAGE_TYPE
from rssi_ros.bags.typestore import typestore

log = logging.getLogger(__name__)
NS = 1_000_000_000
DEFAULT_DEPTH = 100
MATCH_POLL_S = 0.02
ACK_TIMEOUT_S = 10.0
INPUT_TYPES = frozenset({IMAGE_TYPE, COMPRESSED_TYPE, FIX_TYPE, DETECTIONS_TYPE})


def message_class(msgtype: str):
    """The rclpy class of a type name like `sensor_msgs/msg/Image`."""
    package, kind, name = msgtype.split("/")
    return getattr(importlib.import_module(f"{package}.{kind}"), name)


@dataclass(frozen=True)
class PlayOptions:
    rate: float = 1.0  # playback speed factor; 0 = as fast as possible
    clock: bool = True  # publish /clock (generated from receive times unless the bag holds /clock)
    loop: bool = False
    reliable: bool = True
    depth: int = DEFAULT_DEPTH
    topics: frozenset[str] | None = None  # None = every topic
    # Longest wall-clock pause between two messages, seconds; 0 = the recorded timing throughout.
    # Like ROS 1's `rosbag play --skip-empty`: a bag of held-out frames spread over many minutes
    # plays in seconds, while /clock and the header stamps keep the recorded times.
    max_gap_s: float = 0.0

    def __post_init__(self) -> None:
        if not (self.rate >= 0 and self.max_gap_s >= 0):
            raise ValueError(f"rate and max_gap_s must be >= 0, got {self.rate} and {self.max_gap_s}")


class Pacer:
    """When each message of a recording is due, in wall seconds after the first (`PlayOptions`)."""

    def __init__(self, rate: float, max_gap_s: float = 0.0) -> None:
        self.rate, self.max_gap_s = rate, max_gap_s
        self._first: int | None = None
        self._prev: int | None = None
        self.skipped_ns = 0  # recorded time not waited for (gaps longer than max_gap_s)

    def due_s(self, t_ns: int) -> float | None:
        """Seconds after the first message at which the message recorded at `t_ns` is due; None
        when the rate is 0 (as fast as possible)."""
        if self._first is None:
            self._first = self._prev = t_ns
        gap_ns = t_ns - self._prev
        self._prev = t_ns
        if self.rate <= 0:
            return None
        longest_ns = self.max_gap_s * self.rate * NS
        if self.max_gap_s > 0 and gap_ns > longest_ns:
            self.skipped_ns += int(gap_ns - longest_ns)
        return (t_ns - self._first - self.skipped_ns) / NS / self.rate


class BagPlayer:
    """Publishes one bag through `node` (which needs no spinning: publishing is synchronous)."""

    def __init__(self, node: Node, path: str | Path, options: PlayOptions | None = None) -> None:
        self.node = node
        self.path = Path(path)
        self.options = options or PlayOptions()
        qos = QoSProfile(
            history=HistoryPolicy.KEEP_LAST,
            depth=self.options.depth,
            reliability=ReliabilityPolicy.RELIABLE
            if self.options.reliable
            else ReliabilityPolicy.BEST_EFFORT,
            durability=DurabilityPolicy.VOLATILE,
        )
        self._reader = AnyReader([self.path], default_typestore=typestore())
        self._reader.open()
        wanted = self.options.topics
        self.connections = [c for c in self._reader.connections if wanted is None or c.topic in wanted]
        self.publishers = {}
        for c in self.connections:
            if c.topic not in self.publishers:
                self.publishers[c.topic] = node.create_publisher(message_class(c.msgtype), c.topic, qos)
        self.bag_has_clock = any(c.msgtype == CLOCK_TYPE for c in self.connections)
        self._clock_pub = None
        if self.options.clock and not self.bag_has_clock:
            self._clock_pub = node.create_publisher(message_class(CLOCK_TYPE), "/clock", qos)

    def close(self, ack_timeout_s: float = ACK_TIMEOUT_S) -> None:
        """Wait (bounded) until reliable subscribers acknowledged everything, then close the bag.

        Without this, a process that exits right after the last message can take undelivered
        messages with it.
        """
        timeout = Duration(nanoseconds=int(ack_timeout_s * NS))
        try:
            if self.node.context.ok():  # after Ctrl-C rclpy has shut the context down: nothing to wait for
                for pub in [*self.publishers.values(), self._clock_pub]:
                    if pub is not None and not pub.wait_for_all_acked(timeout):
                        log.warning(
                            "%s: not all messages acknowledged within %.1f s", pub.topic_name, ack_timeout_s
                        )
        finally:
            self._reader.close()

    def input_topics(self) -> list[str]:
        """The topics a predictor node subscribes to (images, fixes, detections) with messages in the
        bag (a position-only bag declares empty image and detection topics: nothing to wait for)."""
        return sorted({c.topic for c in self.connections if c.msgtype in INPUT_TYPES and c.msgcount > 0})

    def wait_for_subscribers(self, timeout_s: float, topics: list[str] | None = None) -> list[str]:
        """Wait until each of `topics` (default: `input_topics`) has a matched subscriber; the unmatched."""
        names = topics if topics is not None else self.input_topics()
        deadline = time.monotonic() + timeout_s
        while True:
            missing = [t for t in names if self.publishers[t].get_subscription_count() < 1]
            if not missing or time.monotonic() >= deadline:
                return missing
            time.sleep(MATCH_POLL_S)

    def play(self) -> Counter:
        """Publish the bag in time (scaled by `rate`); returns messages published per topic."""
        counts: Counter[str] = Counter()
        clock_cls = message_class(CLOCK_TYPE)
        while True:
            pacer = Pacer(self.options.rate, self.options.max_gap_s)
            start_wall = time.monotonic()
            last_clock = -1
            for conn, t, raw in self._reader.messages(connections=self.connections):
                due = pacer.due_s(t)
                if due is not None:
                    delay = start_wall + due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                if self._clock_pub is not None and t > last_clock:
                    msg = clock_cls()
                    msg.clock.sec, msg.clock.nanosec = t // NS, t % NS
                    self._clock_pub.publish(msg)
                    last_clock = t
                    counts["/clock"] += 1
                self.publishers[conn.topic].publish(bytes(raw))
                counts[conn.topic] += 1
            if not self.options.loop:
                return counts
