"""QoS profiles from the node's parameters.

Inputs default to the sensor-data profile (best effort, volatile): a best-effort subscription
connects to reliable and best-effort publishers alike, and a late image is worth less than the
next one. The camera queue is small on purpose, so a slow node drops stale frames instead of
answering them seconds late.
"""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

_RELIABILITY = {"best_effort": ReliabilityPolicy.BEST_EFFORT, "reliable": ReliabilityPolicy.RELIABLE}


def profile(reliability: str, depth: int) -> QoSProfile:
    """A keep-last, volatile profile; raises ValueError for an unknown reliability name."""
    if reliability not in _RELIABILITY:
        raise ValueError(f"reliability must be one of {sorted(_RELIABILITY)}, got {reliability!r}")
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=_RELIABILITY[reliability],
        durability=DurabilityPolicy.VOLATILE,
    )
