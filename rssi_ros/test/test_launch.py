"""launch_pytest test of predictor.launch.py: the launched node reports diagnostics and answers a frame.

Runs in a ROS 2 install (after `colcon build`); `launch`, `launch_ros` and `launch_pytest` are not
obtainable from PyPI (the PyPI package named `launch` is an unrelated project), so here it skips
(test_launch_file.py checks the file's arguments and files without them). It launches the file as a
user would (namespace, checkpoint, a remapped rx/fix topic), then checks the node is there as a
lifecycle node, active with the model, and answers a frame published on the remapped topics.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

launch_pytest = pytest.importorskip(
    "launch_pytest",
    reason="launch_pytest/launch_ros need a ROS 2 install (not obtainable from PyPI); run under colcon test",
)
pytest.importorskip("launch_ros", reason="launch_ros needs a ROS 2 install")

import launch  # noqa: E402
from ament_index_python.packages import get_package_share_directory  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402

pytestmark = [pytest.mark.ros, pytest.mark.slow]

NAMESPACE = "launch_test"
RX_TOPIC = f"/{NAMESPACE}/gps/basestation"  # through the launch file's rx_fix_topic remapping
TIMEOUT_S = 60.0
CHECKPOINT = Path(tempfile.mkdtemp(prefix="rssi_launch_test_")) / "random.pt"


@launch_pytest.fixture
def predictor_launch():
    from rssi_ros.model.checkpoint import write_random_checkpoint

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    write_random_checkpoint(CHECKPOINT, seed=0)
    share = get_package_share_directory("rssi_ros")
    include = launch.actions.IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(share, "launch", "predictor.launch.py")),
        launch_arguments={
            "namespace": NAMESPACE,
            "log_level": "info",
            "checkpoint": str(CHECKPOINT),
            "rx_fix_topic": RX_TOPIC,
        }.items(),
    )
    return launch.LaunchDescription([include, launch_pytest.actions.ReadyToTest()])


def _frame(node, stamp):
    import numpy as np
    from sensor_msgs.msg import Image, NavSatFix

    fixes = []
    for lat, lon in ((33.42035, -111.92915), (33.42045, -111.92880)):
        fix = NavSatFix(latitude=lat, longitude=lon, altitude=float("nan"))
        fix.header.stamp = stamp
        fixes.append(fix)
    image = Image(height=48, width=64, encoding="rgb8", step=64 * 3)
    image.header.stamp, image.header.frame_id = stamp, "camera"
    image.data = np.full((48, 64, 3), 90, np.uint8).tobytes()
    return fixes, image


@pytest.mark.launch(fixture=predictor_launch)
def test_launched_node_reports_diagnostics_and_answers_a_frame(launch_context):
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from sensor_msgs.msg import Image, NavSatFix

    from rssi_ros_msgs.msg import RssiEstimate

    rclpy.init()
    node = rclpy.create_node("launch_test_probe")
    diagnostics: list[DiagnosticArray] = []
    estimates: list[RssiEstimate] = []
    node.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, 10)
    node.create_subscription(RssiEstimate, f"/{NAMESPACE}/rssi_predictor/estimate", estimates.append, 10)
    rx = node.create_publisher(NavSatFix, RX_TOPIC, 10)
    tx = node.create_publisher(NavSatFix, f"/{NAMESPACE}/tx/fix", 10)
    cam = node.create_publisher(Image, f"/{NAMESPACE}/camera/image_raw", 10)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline and not estimates:  # a frame every 0.2 s until one is answered
            (rx_fix, tx_fix), image = _frame(node, node.get_clock().now().to_msg())
            rx.publish(rx_fix)
            tx.publish(tx_fix)
            cam.publish(image)
            end = time.monotonic() + 0.2
            while time.monotonic() < end:
                rclpy.spin_once(node, timeout_sec=0.02)
        while time.monotonic() < deadline and not _ours(diagnostics):
            rclpy.spin_once(node, timeout_sec=0.1)
        names = node.get_node_names_and_namespaces()
        services = {name for name, _ in node.get_service_names_and_types()}
    finally:
        node.destroy_node()
        rclpy.shutdown()
    assert ("rssi_predictor", f"/{NAMESPACE}") in names
    assert f"/{NAMESPACE}/rssi_predictor/get_state" in services  # a lifecycle node
    status = _ours(diagnostics)[-1]
    values = {kv.key: kv.value for kv in status.values}
    assert values["lifecycle.state"] == "active" and values["model.id"], values
    assert values["model.checkpoint"] == str(CHECKPOINT)
    assert estimates, "no estimate from the launched node"
    e = estimates[0]
    assert e.modalities == RssiEstimate.MODALITY_POSITION | RssiEstimate.MODALITY_IMAGE
    assert e.rssi_db == pytest.approx(-(e.path_loss_db + e.shadow_fading_db), abs=1e-4)
    assert e.header.frame_id == "camera" and e.distance_m > 0


def _ours(diagnostics):
    return [s for d in diagnostics for s in d.status if s.name.startswith("rssi_predictor:")]
