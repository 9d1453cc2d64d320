"""launch_pytest test of predictor.launch.py: the launched node publishes estimates and diagnostics.

Runs in a ROS 2 install (after `colcon build`); `launch`, `launch_ros` and `launch_pytest` are not
obtainable from PyPI (the PyPI package named `launch` is an unrelated project), so here it skips.
"""

from __future__ import annotations

import os
import time

import pytest

launch_pytest = pytest.importorskip(
    "launch_pytest",
    reason="launch_pytest/launch_ros need a ROS 2 install (not obtainable from PyPI); run under colcon test",
)
pytest.importorskip("launch_ros", reason="launch_ros needs a ROS 2 install")

import launch  # noqa: E402
from ament_index_python.packages import get_package_share_directory  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402

pytestmark = pytest.mark.ros


@launch_pytest.fixture
def predictor_launch():
    share = get_package_share_directory("rssi_ros")
    include = launch.actions.IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(share, "launch", "predictor.launch.py")),
        launch_arguments={"namespace": "launch_test", "log_level": "info"}.items(),
    )
    return launch.LaunchDescription([include, launch_pytest.actions.ReadyToTest()])


@pytest.mark.launch(fixture=predictor_launch)
def test_launched_node_comes_up_and_reports_diagnostics(launch_context):
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray

    rclpy.init()
    node = rclpy.create_node("launch_test_probe")
    seen: list[DiagnosticArray] = []
    node.create_subscription(DiagnosticArray, "/diagnostics", seen.append, 10)
    try:
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline and not seen:
            rclpy.spin_once(node, timeout_sec=0.1)
        names = node.get_node_names_and_namespaces()
    finally:
        node.destroy_node()
        rclpy.shutdown()
    assert ("rssi_predictor", "/launch_test") in names
    assert any("rssi_predictor" in s.name for d in seen for s in d.status)
