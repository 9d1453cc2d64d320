"""The node in-process (real rclpy, no partner process): lifecycle transitions and parameter validation."""

from __future__ import annotations

import pytest

rclpy = pytest.importorskip("rclpy", reason="rclpy not installed (run `make setup`)")
pytest.importorskip("rssi_ros_msgs.msg", reason="rssi_ros_msgs not built (run `make setup`)")

from rclpy.parameter import Parameter  # noqa: E402

pytestmark = pytest.mark.ros


@pytest.fixture
def context():
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    yield ctx
    rclpy.try_shutdown(context=ctx)


def _node(context, **overrides):
    from rssi_ros.ros.node import PredictorNode

    params = [Parameter(k, value=v) for k, v in overrides.items()]
    return PredictorNode(context=context, parameter_overrides=params)


def _topics(node) -> set[str]:
    return {s.topic_name for s in node.subscriptions}


def test_lifecycle_creates_and_removes_subscriptions(context):
    node = _node(context, autostart=False)
    try:
        assert node.diag.info["lifecycle.state"] == "unconfigured" and not node._subscriptions_
        node.trigger_configure()
        assert node.diag.info["lifecycle.state"] == "inactive" and not node._subscriptions_
        node.trigger_activate()
        assert node.diag.info["lifecycle.state"] == "active"
        assert {"/camera/image_raw", "/rx/fix", "/tx/fix", "/detections"} <= _topics(node)
        node.trigger_deactivate()
        assert "/camera/image_raw" not in _topics(node)
        node.trigger_cleanup()
        assert node.diag.info["lifecycle.state"] == "unconfigured" and node.policy is None
    finally:
        node.destroy_node()


def test_autostart_and_compressed_transport_and_no_detector(context):
    node = _node(context, **{"camera.transport": "compressed", "detections.enabled": False})
    try:
        assert node.diag.info["lifecycle.state"] == "active"
        topics = _topics(node)
        assert "/camera/image_raw/compressed" in topics and "/detections" not in topics
        assert node.predictor is None  # no checkpoint: the node runs and says so
        snap = node.diag.snapshot(0.0, model_loaded=False)
        assert snap.level == 2 and "checkpoint" in snap.message
    finally:
        node.destroy_node()


def test_parameter_changes_are_validated_before_they_apply(context, tmp_path):
    node = _node(context)
    try:
        refused = node.set_parameters([Parameter("sync.max_wait_s", value=-1.0)])[0]
        assert not refused.successful
        assert not node.set_parameters([Parameter("qos.image.depth", value=7)])[0].successful  # read-only
        assert not node.set_parameters([Parameter("tx_selection.mode", value="nearest")])[0].successful
        bad_combo = node.set_parameters([Parameter("tx_selection.mode", value="projection")])[0]
        assert not bad_combo.successful and "camera_yaml" in bad_combo.reason
        missing = node.set_parameters([Parameter("checkpoint", value=str(tmp_path / "none.pt"))])[0]
        assert (
            not missing.successful
            and "cannot load model" in missing.reason
            and "keeping no model" in missing.reason
        )
        assert node.get_parameter("checkpoint").value == ""  # unchanged
        ok = node.set_parameters([Parameter("sync.max_wait_s", value=0.2)])[0]
        assert ok.successful and node.policy.config.max_wait_s == 0.2
        cam = tmp_path / "scenario.yaml"
        cam.write_text(
            "camera: {width: 960, height: 540, fx: 480.0, fy: 480.0, cx: 480.0, cy: 270.0, lat: 33.42,"
            " lon: -111.93, height_m: 3.0, heading_deg: 90.0, pitch_deg: 6.0}\n"
        )
        ok = node.set_parameters(
            [
                Parameter("tx_selection.camera_yaml", value=str(cam)),
                Parameter("tx_selection.mode", value="projection"),
            ]
        )
        assert all(r.successful for r in ok) and node.selector.camera.width == 960
        fixed = node.set_parameters(
            [
                Parameter("rx.fixed", value=True),
                Parameter("rx.latitude", value=33.42),
                Parameter("rx.longitude", value=-111.93),
            ]
        )
        assert all(r.successful for r in fixed) and node.policy.fixed_rx.lat == 33.42
    finally:
        node.destroy_node()


def test_descriptors_are_visible_to_clients(context):
    node = _node(context)
    try:
        (d,) = node.describe_parameters(["qos.image.depth"])
        assert d.read_only and d.integer_range[0].from_value == 1
        (d,) = node.describe_parameters(["sync.max_wait_s"])
        assert not d.read_only and d.floating_point_range[0].to_value == 10.0
    finally:
        node.destroy_node()
