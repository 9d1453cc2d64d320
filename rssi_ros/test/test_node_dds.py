"""The predictor node over real DDS, in its own process, fed by another process, checked from a third.

One node serves the whole module (start-up is the expensive part): estimates equal offline
inference of the same sample, missing detections degrade the modalities, 10,000 malformed messages
leave it standing with counters that add up, and checkpoints swap at run time (a bad one is refused).
A second node (`rssi_predictor_jpeg`, camera.transport compressed) shares the fix and detection
topics, so the fuzz reaches the CompressedImage path too; it starts beside the first.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import rclpy  # noqa: F401  (a broken venv must fail here, not skip)
from helpers.predictor_graph import NS, LineProcess, Listener, start_feeder, start_node

import rssi_ros_msgs.msg  # noqa: F401
from rssi_ros.ros.diagnostics import identities

pytestmark = [pytest.mark.ros, pytest.mark.slow]

FRAMES = 40
# 10 fps: the node keeps up even on a busy 2-core machine, so no backlog ages frames past the
# stamp checks (throughput is measured by `bench node`, not here).
GAP_MS = 100
TOLERANCE_DB = 1e-4
FUZZ_MALFORMED = 10_000
FUZZ_VALID = 40
JPEG_NODE = "rssi_predictor_jpeg"
JPEG_ESTIMATES = f"/{JPEG_NODE}/estimate"
DEBUG_TOPIC = "/rssi_predictor/debug_image"
# The feeder's `offsetfixes` (helpers/feeder.py): fix stamps this far from the image's.
FIX_OFFSETS_NS = (-3_000_000, 4_000_000)
NODE_PARAMS = {
    "qos.image.reliability": "reliable",
    "qos.image.depth": 1000,
    "qos.fix.reliability": "reliable",
    "qos.fix.depth": 1000,
    "qos.detections.reliability": "reliable",
    "qos.detections.depth": 1000,
    "qos.estimate.depth": 1000,
    # Frames are >= 30 ms apart: a fix or detection array matches only its own frame, and an image
    # waits for its own inputs (they travel on other topics and may arrive after it).
    "sync.fix_max_age_s": 0.02,
    "sync.fix_max_lead_s": 0.02,
    "sync.detection_tolerance_s": 0.001,
    "sync.max_wait_s": 1.0,
    "sync.detector_timeout_s": 5.0,
    "diagnostics.period_s": 0.2,
    # Generous, so a CI machine under load never ages a frame out; the fuzz stamps are 100 s off.
    "sync.stamp_max_age_s": 30.0,
    "camera.timeout_s": 0.0,  # no fix-triggered estimates between the tests' bursts of frames
    "debug_image.enabled": True,
}


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    from rssi_ros.data.readers import read_dataset
    from rssi_ros.data.synth import generate_scene

    csv = generate_scene(tmp_path_factory.mktemp("scene") / "scene", frames=FRAMES, seed=7)
    samples = read_dataset(csv).samples
    assert len(samples) == FRAMES and any(b.is_transmitter for s in samples for b in s.boxes or [])
    return csv, samples


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from rssi_ros.inference.predictor import Predictor
    from rssi_ros.model.checkpoint import write_random_checkpoint

    tmp = tmp_path_factory.mktemp("models")
    a = write_random_checkpoint(tmp / "a.pt", seed=11)
    b = write_random_checkpoint(tmp / "b.pt", seed=12)
    corrupt = tmp / "corrupt.pt"
    corrupt.write_bytes(a.read_bytes()[: a.stat().st_size // 2])  # a truncated download
    return {
        "a": a,
        "b": b,
        "corrupt": corrupt,
        "predictor_a": Predictor.load(a),
        "predictor_b": Predictor.load(b),
    }


class Graph(NamedTuple):
    node: LineProcess
    feeder: LineProcess
    listener: Listener
    jpeg_node: LineProcess


@pytest.fixture(scope="module")
def graph(tmp_path_factory, scene, models):
    tmp = tmp_path_factory.mktemp("graph")
    node = start_node(tmp, {**NODE_PARAMS, "checkpoint": str(models["a"])})
    jpeg_params = {**NODE_PARAMS, "checkpoint": str(models["a"]), "camera.transport": "compressed"}
    jpeg_params["debug_image.enabled"] = False
    jpeg_node = start_node(tmp, jpeg_params, "jpeg_node", ["-r", f"__node:={JPEG_NODE}"])
    listener = Listener([JPEG_ESTIMATES])
    feeder = start_feeder(scene[0], "--jpeg-node-topic", JPEG_ESTIMATES)  # READY once both nodes subscribe
    try:
        listener.handshake(feeder, node)
        yield Graph(node, feeder, listener, jpeg_node)
    finally:
        if feeder.alive():
            feeder.send("quit")
        feeder.stop()
        output = node.stop()
        print(output, jpeg_node.stop(), sep="\n")
        listener.close()


def _wait_estimates(listener: Listener, stamps: list[int], procs, timeout: float = 60.0) -> None:
    ok = listener.spin_until(lambda: all(s in listener.estimates for s in stamps), timeout, procs)
    missing = [s for s in stamps if s not in listener.estimates]
    assert ok, f"{len(missing)} of {len(stamps)} frames not answered\n{procs[0].output()}"


def test_one_estimate_per_image_equal_to_offline_inference(graph, scene, models):
    node, feeder, listener, _ = graph
    # The fixes are stamped a few ms off the image (inside the sync windows): the estimate must
    # carry the image's stamp, not a fix's.
    sent = listener.send_frames(feeder, f"frames 0 {FRAMES} {GAP_MS} offsetfixes")
    stamps = [s for s, _ in sent]
    _wait_estimates(listener, stamps, [node, feeder])
    counts = collections.Counter(_ns(m) for m in listener.all_estimates)
    assert all(counts[s] == 1 for s in stamps), "an image was answered more than once"
    fix_stamps = {s + off for s in stamps for off in FIX_OFFSETS_NS}
    assert not fix_stamps & set(counts), "an estimate carries a fix's stamp"
    predictor = models["predictor_a"]
    samples = scene[1]
    expected = predictor.predict_batch([samples[i] for _, i in sent])
    for (stamp, index), offline in zip(sent, expected, strict=True):
        msg = listener.estimates[stamp]
        assert msg.rssi_db == pytest.approx(offline.rssi_db, abs=TOLERANCE_DB), f"frame {index}"
        assert msg.path_loss_db == pytest.approx(offline.path_loss_db, abs=TOLERANCE_DB)
        assert msg.shadow_fading_db == pytest.approx(offline.shadow_fading_db, abs=TOLERANCE_DB)
        assert msg.distance_m == pytest.approx(offline.distance_m, rel=1e-6)
        assert msg.modalities == 7 == offline.modalities
        in_view = any(b.is_transmitter for b in samples[index].boxes)
        assert msg.tx_in_view == in_view == offline.tx_in_view
        assert msg.tx_selection == (msg.TX_SELECTION_FLAG if in_view else msg.TX_SELECTION_NONE)
        assert msg.num_boxes == offline.num_boxes
        assert (msg.model_id, msg.backend) == (predictor.model_id, "torch")
        assert msg.header.frame_id == "camera" and msg.processing_time_ms > 0


def test_without_detections_the_estimate_degrades_to_position_and_image(graph, scene, models):
    node, feeder, listener, _ = graph
    sent = listener.send_frames(feeder, f"frames 3 8 {GAP_MS} nodets")
    _wait_estimates(listener, [s for s, _ in sent], [node, feeder])
    predictor = models["predictor_a"]
    for stamp, index in sent:
        msg = listener.estimates[stamp]
        offline = predictor.predict(scene[1][index].with_(boxes=None))
        assert msg.modalities == 1 | 2 and not msg.tx_in_view and msg.num_boxes == 0
        assert msg.rssi_db == pytest.approx(offline.rssi_db, abs=TOLERANCE_DB)


def test_fuzz_node_survives_and_skip_counters_add_up(graph):
    import json

    from sensor_msgs.msg import Image

    node, feeder, listener, jpeg_node = graph
    procs = [node, feeder, jpeg_node]
    debug: list[Image] = []  # watched, so the debug image (and its drawing of the huge boxes) is rendered
    sub = listener.node.create_subscription(Image, DEBUG_TOPIC, debug.append, FUZZ_VALID * 2)
    try:
        assert listener.spin_until(lambda: sub.get_publisher_count() > 0, 30.0, procs)
        feeder.send(f"fuzz {FUZZ_MALFORMED} {FUZZ_VALID}")
        # The feeder checks every valid frame is answered by both nodes; the listener spins meanwhile.
        line = feeder.expect("FUZZ", 400.0, idle=lambda: listener.executor.spin_once(timeout_sec=0.01))
        result = json.loads(line)
        assert result["malformed"] == FUZZ_MALFORMED and result["edge_cases"] == FUZZ_VALID
        valid = [s for s, _ in result["valid"]]
        _wait_estimates(listener, valid, procs)
        huge = set(result["huge_boxes"])
        assert listener.spin_until(lambda: huge <= {_ns(m) for m in debug}, 30.0, procs), "no debug image"
    finally:
        listener.node.destroy_subscription(sub)
    assert set(valid) <= set(listener.estimates_on[JPEG_ESTIMATES])
    for name, totals, expected in (
        ("rssi_predictor", result["totals"], result["expected"]),
        (JPEG_NODE, result["totals_jpeg"], result["expected_jpeg"]),
    ):
        _check_counters(listener, procs, name, totals, expected)


def _check_counters(listener: Listener, procs, name: str, totals: dict, expected: dict) -> None:
    """Everything published was received and accounted for, under exactly the provoked reasons."""

    def settled() -> bool:
        d = listener.of.get(name, {})
        return (
            all(listener.counter(k, name) == v for k, v in totals.items())
            and listener.counter("images.pending", name) == 0
            and all(left == right for left, right in identities(d).values())
        )

    listener.spin_until(settled, 60.0, procs)
    d = listener.of[name]
    for key, value in totals.items():
        assert listener.counter(key, name) == value, (name, key)
    counted = {k: listener.counter(k, name) for k in expected}
    assert counted == expected, (name, {k: v for k, v in d.items() if "." in k})
    checks = identities(d)
    assert all(left == right for left, right in checks.values()), (name, checks)
    assert listener.total("internal_errors.", name) == 0, (name, d)
    # Only malformed messages were skipped: the reasons seen are exactly the ones provoked.
    provoked = {k for k in expected if ".skipped." in k or ".rejected." in k}
    seen = {k for k in d if (".skipped." in k or ".rejected." in k) and listener.counter(k, name) > 0}
    assert seen == provoked, name


def test_checkpoint_swap_at_run_time_good_and_corrupt(graph, scene, models):
    node, feeder, listener, _ = graph
    result = listener.set_parameter("rssi_predictor", "checkpoint", str(models["b"]))
    assert result.successful, result.reason
    sent = listener.send_frames(feeder, f"frames 20 3 {GAP_MS}")
    _wait_estimates(listener, [s for s, _ in sent], [node, feeder])
    b = models["predictor_b"]
    for stamp, index in sent:
        msg = listener.estimates[stamp]
        assert msg.model_id == b.model_id
        assert msg.rssi_db == pytest.approx(b.predict(scene[1][index]).rssi_db, abs=TOLERANCE_DB)

    for bad in (models["corrupt"], Path("/nonexistent/model.pt")):
        result = listener.set_parameter("rssi_predictor", "checkpoint", str(bad))
        assert not result.successful
        assert "cannot load model" in result.reason and f"keeping {b.model_id}" in result.reason, (
            result.reason
        )
        # /diagnostics says so, and the old model is still the one in use.
        assert listener.spin_until(
            lambda bad=bad: str(bad) in listener.diagnostics.get("model.last_swap_error", ""), 30.0, [node]
        ), listener.diagnostics
        assert f"keeping {b.model_id}" in listener.diagnostics["model.last_swap_error"]
        assert listener.diagnostics["model.id"] == b.model_id
        assert listener.diagnostics["model.checkpoint"] == str(models["b"])
    sent = listener.send_frames(feeder, f"frames 25 2 {GAP_MS}")
    _wait_estimates(listener, [s for s, _ in sent], [node, feeder])
    assert all(listener.estimates[s].model_id == b.model_id for s, _ in sent)

    # Read-only and out-of-range values are refused by the descriptors and the validating callback.
    assert not listener.set_parameter("rssi_predictor", "qos.image.depth", 5).successful
    refused = listener.set_parameter("rssi_predictor", "sync.max_wait_s", -1.0)
    assert not refused.successful
    assert listener.set_parameter("rssi_predictor", "sync.max_wait_s", 0.5).successful
    assert node.alive()


def test_debug_image_is_published_while_someone_watches(graph):
    from sensor_msgs.msg import Image

    node, feeder, listener, _ = graph
    images: list[Image] = []
    sub = listener.node.create_subscription(Image, DEBUG_TOPIC, images.append, 10)
    try:
        assert listener.spin_until(lambda: sub.get_publisher_count() > 0, 30.0, [node])
        sent = listener.send_frames(feeder, f"frames 12 3 {GAP_MS}")
        stamps = {s for s, _ in sent}
        assert listener.spin_until(lambda: stamps <= {_ns(m) for m in images}, 30.0, [node, feeder])
    finally:
        listener.node.destroy_subscription(sub)
    debug = next(m for m in images if _ns(m) in stamps)
    assert (debug.width, debug.height, debug.encoding) == (480, 270, "rgb8")
    assert len(debug.data) == debug.step * debug.height and debug.header.frame_id == "camera"


def test_without_camera_tx_fixes_trigger_position_estimates(graph, scene, models):
    node, feeder, listener, _ = graph
    assert listener.set_parameter("rssi_predictor", "camera.timeout_s", 0.05).successful
    try:
        sent = listener.send_frames(feeder, f"frames 30 4 {GAP_MS} noimage nodets")
        _wait_estimates(listener, [s for s, _ in sent], [node, feeder])
    finally:
        assert listener.set_parameter("rssi_predictor", "camera.timeout_s", 0.0).successful
    # The model is whichever the swap test left in place.
    model_id = listener.estimates[sent[0][0]].model_id
    predictor = next(m for m in (models["predictor_a"], models["predictor_b"]) if m.model_id == model_id)
    for stamp, index in sent:
        msg = listener.estimates[stamp]
        sample = scene[1][index].with_(image=None, image_path=None, boxes=None)
        assert msg.modalities == 1 and not msg.tx_in_view
        assert msg.rssi_db == pytest.approx(predictor.predict(sample).rssi_db, abs=TOLERANCE_DB)
        # The camera's frame (the last image's), not the Tx fix's "tx_gps".
        assert msg.header.frame_id == "camera"

    def settled() -> bool:
        checks = identities(listener.diagnostics)
        return listener.counter("fix_triggers.answered") >= len(sent) and all(
            left == right for left, right in checks.values()
        )

    assert listener.spin_until(settled, 10.0, [node]), identities(listener.diagnostics)
    assert listener.counter("fix_triggers.pending") == 0


def _ns(msg: Any) -> int:
    return msg.header.stamp.sec * NS + msg.header.stamp.nanosec
