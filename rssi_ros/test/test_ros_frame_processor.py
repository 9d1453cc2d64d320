"""The node's hot path without ROS: a synchronised frame gives exactly `Predictor.predict` of its sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rssi_ros.data.sample import Box, Sample
from rssi_ros.physics.geodesy import offset_latlon
from rssi_ros.ros.detection_conversion import TRANSMITTER_YES, DetectionSet, PixelBox
from rssi_ros.ros.fix_validation import Fix
from rssi_ros.ros.frame_processor import FrameProcessor, frame_to_sample
from rssi_ros.ros.sync import NS, Frame
from rssi_ros.ros.tx_selection import SELECTION_FLAG, SELECTION_NONE, TxSelectionConfig, TxSelector

BS = (33.42035, -111.92915)
T = 1_700_000_000 * NS


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    from rssi_ros.inference.predictor import Predictor
    from rssi_ros.model.checkpoint import write_random_checkpoint

    path = write_random_checkpoint(Path(tmp_path_factory.mktemp("ckpt")) / "random.pt", seed=3)
    return Predictor.load(path)


def _frame(image=True, detections=True) -> Frame:
    tx = offset_latlon(*BS, 30.0, -12.0)
    rgb = np.random.default_rng(0).integers(0, 256, (54, 96, 3), dtype=np.uint8) if image else None
    dets = None
    if detections:
        dets = DetectionSet(
            T,
            960,
            540,
            [
                PixelBox("car", 480, 270, 96, 54, 0.9, TRANSMITTER_YES),
                PixelBox("person", 96, 54, 20, 40, 0.7),
            ],
        )
    return Frame(T, rgb, 0.0, Fix(*BS, 0.0, T), Fix(float(tx[0]), float(tx[1]), 0.0, T), dets)


def test_output_equals_offline_prediction_of_the_same_sample(predictor):
    frame = _frame()
    outcome = FrameProcessor(predictor, TxSelector(TxSelectionConfig())).process(frame)
    offline = Sample(
        rx_lat=BS[0],
        rx_lon=BS[1],
        tx_lat=frame.tx.lat,
        tx_lon=frame.tx.lon,
        image=frame.payload,
        boxes=[Box("car", 0.5, 0.5, 0.1, 0.1, 0.9, True), Box("person", 0.1, 0.1, 20 / 960, 40 / 540, 0.7)],
    )
    expected = predictor.predict(offline)
    e = outcome.estimate
    assert e.rssi_db == pytest.approx(expected.rssi_db, abs=1e-4)
    assert e.path_loss_db == pytest.approx(expected.path_loss_db, abs=1e-4)
    assert e.rssi_db == pytest.approx(-(e.path_loss_db + e.shadow_fading_db), abs=1e-4)
    assert e.modalities == 7 and e.tx_in_view and e.num_boxes == 2
    assert outcome.choice.selection == SELECTION_FLAG
    assert e.distance_m == pytest.approx(np.hypot(30.0, 12.0), rel=1e-4)


def test_missing_image_and_detections_degrade_the_modalities(predictor):
    proc = FrameProcessor(predictor, TxSelector(TxSelectionConfig()))
    assert proc.process(_frame(image=False)).estimate.modalities == 1 | 4
    no_boxes = proc.process(_frame(detections=False))
    assert no_boxes.estimate.modalities == 1 | 2 and not no_boxes.estimate.tx_in_view
    assert no_boxes.choice.selection == SELECTION_NONE
    # Without image and without any size, pixel boxes cannot be normalised: dropped, flagged.
    frame = _frame(image=False)
    frame.detections.image_width = frame.detections.image_height = 0
    outcome = proc.process(frame)
    assert outcome.boxes_unusable and outcome.estimate.modalities == 1


def test_no_transmitter_flag_means_not_in_view(predictor):
    frame = _frame()
    frame.detections.boxes = [PixelBox("car", 480, 270, 96, 54, 0.9)]
    outcome = FrameProcessor(predictor, TxSelector(TxSelectionConfig("flag"))).process(frame)
    assert not outcome.estimate.tx_in_view and outcome.choice.selection == SELECTION_NONE
    assert outcome.estimate.modalities == 7  # boxes were used, just none is the transmitter


def test_frame_without_fixes_is_a_programming_error():
    frame = _frame()
    frame.tx = None
    with pytest.raises(ValueError, match="both fixes"):
        frame_to_sample(frame)
