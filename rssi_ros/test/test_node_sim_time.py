"""With use_sim_time and no /clock (a bag paused or finished), the node's timers still run.

The node runs in its own process (`python -m rssi_ros predictor`), as a user starts it for a bag
replay, but nobody publishes /clock: its ROS clock stands at 0. /diagnostics must still arrive
every period, and an image waiting for detections that never come must still be answered when its
wait (steady time) runs out, by the poll timer, with no other message arriving to release it.
"""

from __future__ import annotations

import time

import pytest
import rclpy  # noqa: F401  (a broken venv must fail here, not skip)
from helpers.predictor_graph import NS, Listener, start_node

import rssi_ros_msgs.msg  # noqa: F401

pytestmark = [pytest.mark.ros, pytest.mark.slow]

DIAG_PERIOD_S = 0.2
MAX_WAIT_S = 0.3
START_TIMEOUT_S = 90.0
TIMEOUT_S = 30.0
# The sim clock stands at 0, so stamp checks are off; any positive stamp will do.
STAMP_NS = 1_000 * NS
RX, TX = (33.42035, -111.92915), (33.42045, -111.92880)


def _stamped(msg, stamp_ns: int, frame_id: str):
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, NS)
    msg.header.frame_id = frame_id
    return msg


def test_diagnostics_and_waiting_images_without_clock(tmp_path):
    import numpy as np
    from diagnostic_msgs.msg import DiagnosticArray
    from sensor_msgs.msg import Image, NavSatFix

    from rssi_ros.model.checkpoint import write_random_checkpoint

    params = {
        "checkpoint": str(write_random_checkpoint(tmp_path / "random.pt", seed=4)),
        "use_sim_time": True,
        "diagnostics.period_s": DIAG_PERIOD_S,
        "sync.max_wait_s": MAX_WAIT_S,
        "sync.detector_timeout_s": 600.0,  # the image waits for detections until max_wait_s
        "camera.timeout_s": 0.0,
        "qos.image.reliability": "reliable",
        "qos.fix.reliability": "reliable",
    }
    node = start_node(tmp_path, params, "sim_time_node")
    listener = Listener()
    arrays: list[DiagnosticArray] = []
    ln = listener.node
    ln.create_subscription(DiagnosticArray, "/diagnostics", arrays.append, 100)
    pubs = {
        "rx": ln.create_publisher(NavSatFix, "/rx/fix", 10),
        "tx": ln.create_publisher(NavSatFix, "/tx/fix", 10),
        "image": ln.create_publisher(Image, "/camera/image_raw", 10),
    }
    try:
        ours = lambda: [a for a in arrays if any(s.name.startswith("rssi_predictor:") for s in a.status)]  # noqa: E731
        assert listener.spin_until(lambda: len(ours()) >= 1, START_TIMEOUT_S, [node]), node.output()
        seen = len(ours())
        assert listener.spin_until(lambda: len(ours()) >= seen + 3, TIMEOUT_S, [node]), "diagnostics stopped"
        assert all(
            a.header.stamp.sec == 0 and a.header.stamp.nanosec == 0 for a in ours()
        )  # sim time, no /clock
        assert listener.spin_until(
            lambda: all(p.get_subscription_count() > 0 for p in pubs.values()), TIMEOUT_S, [node]
        )
        assert listener.spin_until(lambda: listener.diagnostics.get("lifecycle.state") == "active", TIMEOUT_S)

        for key, (lat, lon) in (("rx", RX), ("tx", TX)):
            fix = NavSatFix(latitude=lat, longitude=lon, altitude=float("nan"))
            pubs[key].publish(_stamped(fix, STAMP_NS, f"{key}_gps"))
        assert listener.spin_until(lambda: listener.counter("tx_fix.accepted") == 1, TIMEOUT_S, [node])
        image = Image(height=48, width=64, encoding="rgb8", step=64 * 3)
        image.data = np.full((48, 64, 3), 90, np.uint8).tobytes()
        sent = time.monotonic()
        pubs["image"].publish(_stamped(image, STAMP_NS, "camera"))
        # Nothing else is published: only the steady-clock poll timer can release the waiting image.
        assert listener.spin_until(lambda: STAMP_NS in listener.estimates, TIMEOUT_S, [node]), node.output()
        assert time.monotonic() - sent >= MAX_WAIT_S
        estimate = listener.estimates[STAMP_NS]
        assert estimate.modalities == 1 | 2 and estimate.header.frame_id == "camera"
        assert listener.spin_until(lambda: listener.counter("images.answered") == 1, TIMEOUT_S, [node])
    finally:
        output = node.stop()
        listener.close()
        print(output)
