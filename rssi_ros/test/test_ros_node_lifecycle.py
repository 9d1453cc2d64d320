"""The node in-process (real rclpy, no partner process): lifecycle, parameters, diagnostics, the guard.

What the node publishes is heard by a second node in the same context (`helpers.predictor_graph.Listener`),
over DDS.
"""

from __future__ import annotations

import pytest
from helpers.predictor_graph import Listener
from rclpy.parameter import Parameter

import rssi_ros_msgs.msg  # noqa: F401  (a broken venv must fail here, not skip)

pytestmark = pytest.mark.ros


DIAG_PERIOD_S = 0.1
TIMEOUT_S = 20.0


def _listener(context, node) -> Listener:
    """The test's node beside the predictor in the same context: spins both, hears what it publishes."""
    return Listener(context=context, nodes=[node])


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
        assert node.diag.info["lifecycle.state"] == "unconfigured" and not node._inputs.subscriptions
        node.trigger_configure()
        assert node.diag.info["lifecycle.state"] == "inactive" and not node._inputs.subscriptions
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
    from rssi_ros.ros.inputs import DETECTIONS_SOURCE

    node = _node(
        context,
        **{
            "camera.transport": "compressed",
            "detections.enabled": False,
            "diagnostics.period_s": DIAG_PERIOD_S,
        },
    )
    listener = _listener(context, node)
    try:
        topics = _topics(node)
        assert "/camera/image_raw/compressed" in topics and "/detections" not in topics
        # No checkpoint: the node runs, and what it publishes says so.
        status = listener.next_status()
        assert status.level == 2 and "no model loaded" in status.message and "`checkpoint`" in status.message
        assert status.values["lifecycle.state"] == "active" and status.values["model.id"] == ""
        assert status.values[DETECTIONS_SOURCE] == "disabled"
    finally:
        listener.close()
        node.destroy_node()


def test_missing_vision_msgs_degrades_to_no_detections_and_reports_error(context, monkeypatch):
    import importlib.util

    from rssi_ros.ros import inputs as inputs_module
    from rssi_ros.ros.inputs import DETECTIONS_SOURCE, VISION_MSGS_UNAVAILABLE

    if importlib.util.find_spec("vision_msgs") is not None:  # installed: make it missing for this test
        monkeypatch.setattr(inputs_module, "VISION_MSGS_MODULE", "vision_msgs_not_installed.msg")
    node = _node(context, **{"detections.type": "vision_msgs", "diagnostics.period_s": DIAG_PERIOD_S})
    listener = _listener(context, node)
    try:
        assert node.diag.info["lifecycle.state"] == "active"  # activation did not fail
        assert "/detections" not in _topics(node) and {"/camera/image_raw", "/tx/fix"} <= _topics(node)
        assert not node.policy.detections_enabled  # images never wait for detections that cannot come
        status = listener.next_status()
        assert (
            status.level == 2
            and "vision_msgs does not import" in status.message
            and "running without detections" in status.message
        )
        assert status.values[DETECTIONS_SOURCE] == VISION_MSGS_UNAVAILABLE
    finally:
        listener.close()
        node.destroy_node()


def test_timers_run_on_the_steady_clock_with_sim_time_and_no_clock(context):
    from rclpy.clock import ClockType

    node = _node(context, use_sim_time=True, **{"diagnostics.period_s": DIAG_PERIOD_S})
    listener = _listener(context, node)
    try:
        assert node.get_clock().clock_type == ClockType.ROS_TIME
        assert node._diag_timer.clock.clock_type == ClockType.STEADY_TIME
        assert node._wait_timer.clock.clock_type == ClockType.STEADY_TIME
        listener.next_status()  # nobody publishes /clock: a ROS-time timer would never fire
        listener.next_status()
    finally:
        listener.close()
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
    listener = _listener(context, node)
    try:
        assert node.diag.info["lifecycle.state"] == "unconfigured" and not _topics(node)
        status = listener.next_status()
        assert status.level == 2 and "set rx.latitude/rx.longitude" in status.message
    finally:
        listener.close()
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
    cam = tmp_path / "camera.yaml"
    cam.write_text(
        "width: 960\nheight: 540\nfx: 480.0\nfy: 480.0\ncx: 480.0\ncy: 270.0\nlat: 33.42\nlon: -111.93\n"
        "height_m: 3.0\nheading_deg: 90.0\npitch_deg: 6.0\n"
    )
    node = _node(context)
    listener = _listener(context, node)

    def request(*params):
        return listener.set_parameters("rssi_predictor", params, TIMEOUT_S)

    try:
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
        listener.close()
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
            node._inputs.rx.callback(_fix(time.time_ns(), 33.42, -111.93, "rx_gps"))  # as the executor does
        c = node.counters()
        assert c["rx_fix.received"] == 2 and c["rx_fix.rejected.internal_error"] == 2
        assert c["internal_errors.rx_fix"] == 2
        monkeypatch.setattr(node_module, "check_fix", good)
        node._inputs.rx.callback(_fix(time.time_ns(), 33.42, -111.93, "rx_gps"))
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
            node._throttled.log(key, f"warning {key}")
            node._throttled.log(key + ".e", f"error {key}", error=True)
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


def test_without_camera_fix_triggers_are_judged_and_estimates_use_the_camera_frame(context, checkpoint):
    import time

    node = _node(
        context,
        checkpoint=checkpoint,
        **{"camera.enabled": False, "detections.enabled": False, "diagnostics.period_s": DIAG_PERIOD_S},
    )
    listener = _listener(context, node)
    try:
        # No Tx fix in a period: nothing was answered, which is not OK even without a camera.
        status = listener.next_status(lambda level, message, v: level == 1)
        assert "camera disabled" in status.message and "no Tx fixes received" in status.message
        stamp = time.time_ns()
        node._inputs.rx.callback(_fix(stamp, 33.42035, -111.92915, "rx_gps"))
        tx = next(s for s in node.subscriptions if s.topic_name == "/tx/fix")
        tx.callback(_fix(stamp, 33.42045, -111.92880, "tx_gps"))
        # The period of the answered fix (no spin between fix and answer: one period holds both).
        status = listener.next_status(lambda level, message, v: v.get("fix_triggers.answered") == "1")
        assert status.level == 0 and "camera disabled" in status.message, status.message
        assert listener.spin_until(lambda: len(listener.all_estimates) == 1, TIMEOUT_S)
        # Not the GPS's frame: the `frame_id` parameter, else the last camera frame (none here).
        assert listener.all_estimates[0].header.frame_id == "" and listener.all_estimates[0].modalities == 1
        assert node.set_parameters([Parameter("frame_id", value="base_link")])[0].successful
        tx.callback(_fix(stamp + 10**8, 33.42045, -111.92880, "tx_gps"))
        node._inputs.rx.callback(_fix(stamp + 10**8, 33.42035, -111.92915, "rx_gps"))
        assert listener.spin_until(lambda: len(listener.all_estimates) == 2, TIMEOUT_S)
        assert listener.all_estimates[1].header.frame_id == "base_link"
        values = listener.next_status(lambda level, message, v: v.get("fix_triggers.answered") == "2").values
        assert values["fix_triggers.received"] == "2" and values["fix_triggers.pending"] == "0"
        assert values.get("images.received", "0") == "0"  # fix triggers are not images
    finally:
        listener.close()
        node.destroy_node()


def test_an_exception_in_a_parameter_set_fails_the_set_and_the_node_carries_on(context, monkeypatch):
    """A bug while setting parameters (service handler, whole call, validating callback, apply) must
    not escape into the executor: the set fails with the reason, counted, and the node keeps running."""
    from rclpy.exceptions import ParameterNotDeclaredException

    from rssi_ros.ros import node as node_module
    from rssi_ros.ros import parameters as parameters_module

    node = _node(context, **{"diagnostics.period_s": DIAG_PERIOD_S})
    listener = _listener(context, node)

    def broken(*args, **kwargs):
        raise KeyError("a bug nobody anticipated")

    def request(*params):
        return listener.set_parameters("rssi_predictor", params, TIMEOUT_S)

    try:
        running = node.policy.config.max_wait_s
        # The apply at the end of a call fails after rclpy has set the value: reported, old config runs.
        monkeypatch.setattr(node_module, "TxSelector", broken)
        (result,) = request(Parameter("sync.max_wait_s", value=0.3))  # spin_once would have raised
        assert not result.successful and "not applied" in result.reason and "KeyError" in result.reason
        assert node.policy.config.max_wait_s == running and node.get_parameter("sync.max_wait_s").value == 0.3
        status = listener.next_status(lambda level, message, v: "not applied" in message)
        assert status.level == 2 and "KeyError" in status.message
        (result,) = node.set_parameters([Parameter("sync.max_wait_s", value=0.4)])  # in-process, same
        assert not result.successful and "KeyError" in result.reason
        # An atomic set applies inside the validating callback: refused, so not set either.
        result = node.set_parameters_atomically([Parameter("sync.max_wait_s", value=0.5)])
        assert not result.successful and "KeyError" in result.reason
        assert node.get_parameter("sync.max_wait_s").value == 0.4
        monkeypatch.undo()
        # The validating callback itself fails: refused with the reason, the value is not set.
        monkeypatch.setattr(node_module, "_configuration", broken)
        (result,) = request(Parameter("sync.max_wait_s", value=0.6))
        assert not result.successful and "internal error" in result.reason
        assert node.get_parameter("sync.max_wait_s").value == 0.4
        monkeypatch.undo()
        # The whole call fails before any parameter is set: every parameter of the request fails.
        monkeypatch.setattr(parameters_module, "acceptable", broken)
        results = request(Parameter("sync.max_wait_s", value=0.7), Parameter("frame_id", value="x"))
        assert [r.successful for r in results] == [False, False] and "KeyError" in results[1].reason
        results = node.set_parameters([Parameter("sync.max_wait_s", value=0.7)])
        assert not results[0].successful and "KeyError" in results[0].reason
        monkeypatch.undo()
        assert node.counters()["internal_errors.set_parameters"] == 6
        with pytest.raises(ParameterNotDeclaredException):  # rclpy's contract, not a bug
            node.set_parameters([Parameter("not.declared", value=1)])
        assert node.counters()["internal_errors.set_parameters"] == 6
        # Still up: the next set applies and the problem is gone from /diagnostics.
        (result,) = request(Parameter("sync.max_wait_s", value=0.8))
        assert result.successful and node.policy.config.max_wait_s == 0.8
        assert "not applied" not in listener.next_status().message
    finally:
        listener.close()
        node.destroy_node()


def test_a_model_is_loaded_once_per_call_also_when_it_fails(context, checkpoint, tmp_path, monkeypatch):
    """Each model parameter of one call judges the same combination: one load (seconds) serves them all."""
    from rssi_ros.inference.predictor import Predictor

    loads: list[object] = []
    real_load = Predictor.load

    def counting_load(*args, **kwargs):
        loads.append(args[0])
        return real_load(*args, **kwargs)

    monkeypatch.setattr(Predictor, "load", counting_load)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint")
    node = _node(context)
    try:
        model = [Parameter("backend", value="auto"), Parameter("device", value="cpu")]
        results = node.set_parameters([Parameter("checkpoint", value=str(corrupt)), *model])
        assert not any(r.successful for r in results)
        assert "cannot load model" in results[0].reason and len({r.reason for r in results}) == 1
        assert len(loads) == 1 and node.predictor is None
        node.set_parameters([Parameter("checkpoint", value=str(corrupt))])  # a new call loads afresh
        assert len(loads) == 2
        results = node.set_parameters([Parameter("checkpoint", value=checkpoint), *model])
        assert all(r.successful for r in results), [r.reason for r in results]
        assert len(loads) == 3 and node.predictor is not None  # the staged model is the one installed
    finally:
        node.destroy_node()
