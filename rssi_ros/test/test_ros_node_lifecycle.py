"""The node in-process (real rclpy, no partner process): lifecycle, parameters, diagnostics, the guard.

What the node publishes is heard by a second node in the same context (`Probe`), over DDS.
"""

from __future__ import annotations

import pytest
import rclpy
from rclpy.parameter import Parameter

import rssi_ros_msgs.msg  # noqa: F401  (a broken venv must fail here, not skip)

pytestmark = pytest.mark.ros


DIAG_PERIOD_S = 0.1
TIMEOUT_S = 20.0


class Probe:
    """A second node beside the predictor: spins both, hears /diagnostics and the estimates."""

    def __init__(self, context, node) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.executors import SingleThreadedExecutor

        from rssi_ros_msgs.msg import RssiEstimate

        self.node = rclpy.create_node("lifecycle_probe", context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(node)
        self.executor.add_node(self.node)
        self.statuses: list = []
        self.estimates: list = []
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)
        self.node.create_subscription(RssiEstimate, "/rssi_predictor/estimate", self.estimates.append, 10)

    def _on_diagnostics(self, msg) -> None:
        self.statuses += [s for s in msg.status if s.name.startswith("rssi_predictor:")]

    def spin_until(self, condition, timeout: float = TIMEOUT_S) -> bool:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not condition():
            self.executor.spin_once(timeout_sec=0.02)
        return condition()

    def status(self, where=lambda level, message, values: True):
        """(level, message, values) of the next published status that satisfies `where`."""
        seen = len(self.statuses)

        def found():
            return any(where(*_parsed(s)) for s in self.statuses[seen:])

        assert self.spin_until(found), [_parsed(s)[:2] for s in self.statuses[-3:]]
        return next(_parsed(s) for s in self.statuses[seen:] if where(*_parsed(s)))

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()


def _parsed(status):
    level = status.level[0] if isinstance(status.level, bytes) else int(status.level)
    return level, status.message, {kv.key: kv.value for kv in status.values}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from rssi_ros.model.checkpoint import write_random_checkpoint

    return str(write_random_checkpoint(tmp_path_factory.mktemp("ckpt") / "random.pt", seed=2))


def _fix(stamp_ns: int, lat: float, lon: float, frame_id: str):
    from sensor_msgs.msg import NavSatFix

    msg = NavSatFix(latitude=lat, longitude=lon, altitude=float("nan"))
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 10**9)
    msg.header.frame_id = frame_id
    return msg


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
    node = _node(
        context,
        **{
            "camera.transport": "compressed",
            "detections.enabled": False,
            "diagnostics.period_s": DIAG_PERIOD_S,
        },
    )
    probe = Probe(context, node)
    try:
        topics = _topics(node)
        assert "/camera/image_raw/compressed" in topics and "/detections" not in topics
        # No checkpoint: the node runs, and what it publishes says so.
        level, message, values = probe.status()
        assert level == 2 and "no model loaded" in message and "`checkpoint`" in message
        assert values["lifecycle.state"] == "active" and values["model.id"] == ""
        assert values["detections.source"] == "disabled"
    finally:
        probe.close()
        node.destroy_node()


def test_missing_vision_msgs_degrades_to_no_detections_and_reports_error(context, monkeypatch):
    import importlib.util

    from rssi_ros.ros import inputs as inputs_module

    if importlib.util.find_spec("vision_msgs") is not None:  # installed: make it missing for this test
        monkeypatch.setattr(inputs_module, "VISION_MSGS_MODULE", "vision_msgs_not_installed.msg")
    node = _node(context, **{"detections.type": "vision_msgs", "diagnostics.period_s": DIAG_PERIOD_S})
    probe = Probe(context, node)
    try:
        assert node.diag.info["lifecycle.state"] == "active"  # activation did not fail
        assert "/detections" not in _topics(node) and {"/camera/image_raw", "/tx/fix"} <= _topics(node)
        assert not node.policy.detections_enabled  # images never wait for detections that cannot come
        level, message, values = probe.status()
        assert (
            level == 2
            and "vision_msgs does not import" in message
            and "running without detections" in message
        )
        assert values["detections.source"].startswith("unavailable")
    finally:
        probe.close()
        node.destroy_node()


def test_timers_run_on_the_steady_clock_with_sim_time_and_no_clock(context):
    from rclpy.clock import ClockType

    node = _node(context, use_sim_time=True, **{"diagnostics.period_s": DIAG_PERIOD_S})
    probe = Probe(context, node)
    try:
        assert node.get_clock().clock_type == ClockType.ROS_TIME
        assert node._diag_timer.clock.clock_type == ClockType.STEADY_TIME
        assert node._wait_timer.clock.clock_type == ClockType.STEADY_TIME
        probe.status()  # nobody publishes /clock: a ROS-time timer would never fire
        probe.status()
    finally:
        probe.close()
        node.destroy_node()


def test_fixed_receiver_has_no_rx_subscription_and_needs_a_position(context):
    node = _node(context, **{"rx.fixed": True, "rx.latitude": 33.42, "rx.longitude": -111.93})
    try:
        assert "/rx/fix" not in _topics(node) and "/tx/fix" in _topics(node)
        assert node.set_parameters([Parameter("rx.fixed", value=False)])[0].successful
        assert "/rx/fix" in _topics(node) and node.policy.fixed_rx is None
        assert node.set_parameters([Parameter("rx.fixed", value=True)])[0].successful
        assert "/rx/fix" not in _topics(node) and node.policy.fixed_rx.lat == 33.42
    finally:
        node.destroy_node()
    node = _node(context, **{"rx.fixed": True, "diagnostics.period_s": DIAG_PERIOD_S})  # 0/0: forgotten
    probe = Probe(context, node)
    try:
        assert node.diag.info["lifecycle.state"] == "unconfigured" and not _topics(node)
        level, message, _ = probe.status()
        assert level == 2 and "set rx.latitude/rx.longitude" in message
    finally:
        probe.close()
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
        # One call is judged as a whole: the mode first, the camera model it needs second.
        ok = node.set_parameters(
            [
                Parameter("tx_selection.mode", value="projection"),
                Parameter("tx_selection.camera_yaml", value=str(cam)),
            ]
        )
        assert all(r.successful for r in ok), [r.reason for r in ok]
        assert node.selector.camera.width == 960 and node.settings.tx_selection.mode == "projection"
        fixed = node.set_parameters(
            [
                Parameter("rx.fixed", value=True),
                Parameter("rx.latitude", value=33.42),
                Parameter("rx.longitude", value=-111.93),
            ]
        )
        assert all(r.successful for r in fixed) and node.policy.fixed_rx.lat == 33.42
        # Without the position in the same call, rx.fixed alone is refused (0/0 is no basestation).
        assert node.set_parameters([Parameter("rx.fixed", value=False)])[0].successful
        assert node.set_parameters(
            [Parameter("rx.latitude", value=0.0), Parameter("rx.longitude", value=0.0)]
        )
        alone = node.set_parameters([Parameter("rx.fixed", value=True)])[0]
        assert not alone.successful and "set rx.latitude/rx.longitude" in alone.reason
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


def test_one_request_over_the_parameter_service_is_judged_as_a_whole(context, tmp_path):
    """`ros2 param set/load` and parameter clients use ~/set_parameters, which rclpy splits per parameter."""
    from rclpy.parameter_client import AsyncParameterClient

    cam = tmp_path / "camera.yaml"
    cam.write_text(
        "width: 960\nheight: 540\nfx: 480.0\nfy: 480.0\ncx: 480.0\ncy: 270.0\nlat: 33.42\nlon: -111.93\n"
        "height_m: 3.0\nheading_deg: 90.0\npitch_deg: 6.0\n"
    )
    node = _node(context)
    probe = Probe(context, node)
    client = AsyncParameterClient(probe.node, "rssi_predictor")

    def request(*params):
        future = client.set_parameters(list(params))
        assert probe.spin_until(future.done), "set_parameters timed out"
        return future.result().results

    try:
        assert client.wait_for_services(timeout_sec=TIMEOUT_S)
        results = request(Parameter("tx_selection.mode", value="projection"))
        assert not results[0].successful and "camera_yaml" in results[0].reason
        results = request(
            Parameter("tx_selection.mode", value="projection"),
            Parameter("tx_selection.camera_yaml", value=str(cam)),
            Parameter("qos.image.depth", value=5),  # read-only: refused alone, the others still apply
        )
        assert [r.successful for r in results] == [True, True, False], [r.reason for r in results]
        assert node.settings.tx_selection.mode == "projection" and node.selector.camera is not None
        results = request(Parameter("sync.max_wait_s", value=1))  # a whole number for a float
        assert results[0].successful and node.policy.config.max_wait_s == 1.0
    finally:
        probe.close()
        node.destroy_node()


def test_unexpected_exceptions_are_counted_logged_once_and_the_node_carries_on(context, monkeypatch, capfd):
    import time

    from rssi_ros.ros import node as node_module
    from rssi_ros.ros.diagnostics import identities

    node = _node(context)
    try:

        def broken(*args):
            raise RuntimeError("a bug nobody anticipated")

        good = node_module.check_fix
        monkeypatch.setattr(node_module, "check_fix", broken)
        for _ in range(2):
            node._rx_sub.callback(_fix(time.time_ns(), 33.42, -111.93, "rx_gps"))  # what the executor calls
        c = node.counters()
        assert c["rx_fix.received"] == 2 and c["rx_fix.rejected.internal_error"] == 2
        assert c["internal_errors.rx_fix"] == 2
        monkeypatch.setattr(node_module, "check_fix", good)
        node._rx_sub.callback(_fix(time.time_ns(), 33.42, -111.93, "rx_gps"))
        assert node.counters()["rx_fix.accepted"] == 1  # still working

        monkeypatch.setattr(node, "_stamp_problem", broken)  # an image fails half-way
        image_sub = next(s for s in node.subscriptions if s.topic_name == "/camera/image_raw")
        image_sub.callback(_raw_image())
        assert node.counters()["images.skipped.internal_error"] == 1

        monkeypatch.setattr(node.diag, "snapshot", broken)  # and a timer callback
        node._diag_timer.callback()
        monkeypatch.undo()
        c = node.counters()
        assert c["internal_errors.image"] == 1 and c["internal_errors.diagnostics"] == 1
        checks = identities(node.diag.snapshot(0.0).as_dict())
        assert all(left == right for left, right in checks.values()), checks
        log = capfd.readouterr().err
        assert log.count("Traceback (most recent call last)") == 3  # once per callback, not per message
        assert "a bug nobody anticipated" in log
        # Throttled warnings and errors alternate without rclpy's "severity cannot be changed" error.
        for key in ("k1", "k2", "k3"):
            node._log_throttled(key, f"warning {key}")
            node._log_throttled(key + ".e", f"error {key}", error=True)
        log = capfd.readouterr().err
        assert "warning k3" in log and "error k3" in log
    finally:
        node.destroy_node()


def _raw_image() -> bytes:
    import time

    from rclpy.serialization import serialize_message
    from sensor_msgs.msg import Image

    msg = Image(height=2, width=2, encoding="rgb8", step=6, data=bytes(12))
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(time.time_ns(), 10**9)
    return serialize_message(msg)


def test_without_camera_diagnostics_are_ok_and_estimates_use_the_camera_frame(context, checkpoint):
    import time

    node = _node(
        context,
        checkpoint=checkpoint,
        **{"camera.enabled": False, "detections.enabled": False, "diagnostics.period_s": DIAG_PERIOD_S},
    )
    probe = Probe(context, node)
    try:
        level, message, values = probe.status()
        assert level == 0 and "camera disabled" in message, message
        stamp = time.time_ns()
        node._rx_sub.callback(_fix(stamp, 33.42035, -111.92915, "rx_gps"))
        tx = next(s for s in node.subscriptions if s.topic_name == "/tx/fix")
        tx.callback(_fix(stamp, 33.42045, -111.92880, "tx_gps"))
        assert probe.spin_until(lambda: len(probe.estimates) == 1)
        # Not the GPS's frame: the `frame_id` parameter, else the last camera frame (none here).
        assert probe.estimates[0].header.frame_id == "" and probe.estimates[0].modalities == 1
        assert node.set_parameters([Parameter("frame_id", value="base_link")])[0].successful
        tx.callback(_fix(stamp + 10**8, 33.42045, -111.92880, "tx_gps"))
        node._rx_sub.callback(_fix(stamp + 10**8, 33.42035, -111.92915, "rx_gps"))
        assert probe.spin_until(lambda: len(probe.estimates) == 2)
        assert probe.estimates[1].header.frame_id == "base_link"
        _, _, values = probe.status(lambda level, message, v: v.get("fix_triggers.answered") == "2")
        assert values["fix_triggers.received"] == "2" and values["fix_triggers.pending"] == "0"
        assert values.get("images.received", "0") == "0"  # fix triggers are not images
    finally:
        probe.close()
        node.destroy_node()
