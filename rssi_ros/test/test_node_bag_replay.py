"""A bag replayed into the node with /clock: use_sim_time, compressed images, the ONNX Runtime backend.

The bag's stamps lie years in the past, so a node on wall time would skip every frame as too old;
answering them proves the node follows /clock. The estimates equal offline inference of the same
exported model on the samples decoded from the bag.
"""

from __future__ import annotations

import sys

import onnxruntime  # noqa: F401  (a broken venv must fail here, not skip)
import pytest
import rclpy  # noqa: F401
import rosbags  # noqa: F401
from helpers.predictor_graph import LineProcess, Listener, start_feeder, start_node

pytestmark = [pytest.mark.ros, pytest.mark.slow]

FRAMES = 16
TOLERANCE_DB = 1e-4


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from rssi_ros.bags.frames import FrameOptions
    from rssi_ros.bags.writer import BagOptions, write_bag
    from rssi_ros.data.readers import read_dataset
    from rssi_ros.data.synth import generate_scene
    from rssi_ros.inference.onnx_export import export_checkpoint, write_export
    from rssi_ros.inference.predictor import Predictor
    from rssi_ros.model.checkpoint import load_checkpoint, write_random_checkpoint

    tmp = tmp_path_factory.mktemp("replay")
    csv = generate_scene(tmp / "scene", frames=FRAMES, seed=21)
    bag = tmp / "scene_mcap"
    write_bag(
        read_dataset(csv).samples,
        bag,
        BagOptions(storage="mcap", frames=FrameOptions(compressed=True)),
        progress=False,
    )
    ckpt = write_random_checkpoint(tmp / "model.pt", seed=5)
    onnx = write_export(tmp / "model.onnx", *export_checkpoint(load_checkpoint(ckpt)))
    return {"tmp": tmp, "csv": csv, "bag": bag, "onnx": onnx, "predictor": Predictor.load(onnx)}


def test_bag_replay_with_sim_time_equals_offline_inference(setup):
    from rssi_ros.bags.reader import bag_to_samples

    params = {
        "checkpoint": str(setup["onnx"]),
        "backend": "onnxruntime",
        "use_sim_time": True,
        "camera.transport": "compressed",
        "qos.image.reliability": "reliable",
        "qos.image.depth": 100,
        "qos.fix.reliability": "reliable",
        "qos.fix.depth": 100,
        "qos.detections.reliability": "reliable",
        "qos.detections.depth": 100,
        "sync.fix_max_age_s": 0.02,
        "sync.fix_max_lead_s": 0.02,
        "sync.detection_tolerance_s": 0.001,
        "sync.max_wait_s": 1.0,
        "sync.detector_timeout_s": 5.0,
        "camera.timeout_s": 0.0,
        "diagnostics.period_s": 0.2,
        # Bag stamps are years old: without sim time even 30 s would reject them all.
        "sync.stamp_max_age_s": 30.0,
    }
    node = start_node(setup["tmp"], params, "replay_node")
    listener = Listener()
    feeder = start_feeder(setup["csv"], "--compressed")
    player = None
    try:
        listener.handshake(feeder, node)  # before /clock ticks, the sim clock is 0: no stamp checks
        feeder.send("quit")
        feeder.stop()
        argv = [sys.executable, "-m", "rssi_ros", "bag", "play", str(setup["bag"]), "--rate", "2"]
        player = LineProcess([*argv, "--wait-subscribers", "60"], "player")
        samples = bag_to_samples(setup["bag"])
        stamps = [s.extras["stamp_ns"] for s in samples]
        ok = listener.spin_until(lambda: all(s in listener.estimates for s in stamps), 90.0, [node])
        assert ok, f"{sum(s in listener.estimates for s in stamps)} of {FRAMES} answered\n{node.output()}"
        player.expect("{", 30.0)  # the player's summary line: it finished
    finally:
        if player is not None:
            player.stop()
        feeder.stop()
        output = node.stop()
        listener.close()
        print(output)
    predictor = setup["predictor"]
    expected = predictor.predict_batch(samples)
    for stamp, offline in zip(stamps, expected, strict=True):
        msg = listener.estimates[stamp]
        assert msg.rssi_db == pytest.approx(offline.rssi_db, abs=TOLERANCE_DB)
        assert msg.shadow_fading_db == pytest.approx(offline.shadow_fading_db, abs=TOLERANCE_DB)
        assert msg.modalities == offline.modalities == 7
        assert (msg.backend, msg.model_id) == ("onnxruntime", predictor.model_id)
        assert msg.header.frame_id == "camera"
    assert listener.counter("images.skipped.stamp_too_old") == 0
    assert listener.diagnostics.get("model.backend") == "onnxruntime"
