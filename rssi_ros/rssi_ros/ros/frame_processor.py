"""One synchronised frame to one `Estimate`: the node's hot path, without any ROS in it.

The frame becomes a `data.sample.Sample` (fixes, RGB image or None, normalised boxes or None with
the transmitter chosen by `tx_selection`), and `Predictor.predict` runs the shared preprocessing
and the model on it. Because the node's output is exactly `Predictor.predict(sample)`, offline
inference of the same sample reproduces it; the DDS tests check that to 1e-4 dB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from rssi_ros.data.sample import Sample
from rssi_ros.inference.estimate import Estimate
from rssi_ros.ros import reasons
from rssi_ros.ros.reasons import InputError
from rssi_ros.ros.sync import NS, Frame
from rssi_ros.ros.tx_selection import SELECTION_NONE, TxChoice, TxSelector


class EstimatePredictor(Protocol):
    """What the processor needs of `rssi_ros.inference.predictor.Predictor`."""

    model_id: str
    backend: str

    def predict(self, sample: Sample) -> Estimate: ...


@dataclass
class Outcome:
    """The estimate of one frame and what went into it (for the message, the debug image and counters)."""

    estimate: Estimate
    sample: Sample
    choice: TxChoice
    boxes_outside: int = 0
    boxes_unusable: bool = False


def frame_to_sample(frame: Frame, fallback_size: tuple[int, int] = (0, 0)) -> tuple[Sample, int, bool]:
    """The `Sample` of a frame (transmitter not yet chosen), boxes outside the image, boxes unusable.

    Boxes are normalised by the detection message's image size, else the image's, else
    `fallback_size` (the camera model's, for image-less frames); without any size they are unusable
    and the frame goes on without boxes rather than with wrongly scaled ones.
    """
    if frame.tx is None or frame.rx is None:
        raise ValueError("frame_to_sample needs both fixes (the sync policy marks such frames skipped)")
    payload = getattr(frame.payload, "rgb", frame.payload)  # a node `Capture` or a bare array
    image = payload if isinstance(payload, np.ndarray) else None
    boxes = None
    outside, unusable = 0, False
    if frame.detections is not None:
        width, height = (image.shape[1], image.shape[0]) if image is not None else fallback_size
        try:
            boxes, outside = frame.detections.to_boxes(width, height)
        except InputError:
            unusable = True
    sample = Sample(
        rx_lat=frame.rx.lat,
        rx_lon=frame.rx.lon,
        tx_lat=frame.tx.lat,
        tx_lon=frame.tx.lon,
        image=image,
        boxes=boxes,
        stamp=frame.stamp_ns / NS,
    )
    return sample, outside, unusable


class FrameProcessor:
    """Turns frames into estimates with one predictor and one transmitter selector."""

    def __init__(self, predictor: EstimatePredictor, selector: TxSelector) -> None:
        self.predictor = predictor
        self.selector = selector

    def fallback_size(self) -> tuple[int, int]:
        cam = self.selector.camera
        return (cam.width, cam.height) if cam is not None else (0, 0)

    def process(self, frame: Frame) -> Outcome:
        """Estimate of a frame that the sync policy did not skip; raises `InputError` when inference fails."""
        sample, outside, unusable = frame_to_sample(frame, self.fallback_size())
        if sample.boxes is not None:
            choice = self.selector.select(sample.boxes, sample.tx_lat, sample.tx_lon)
            sample.boxes = choice.boxes
        else:
            choice = TxChoice([], SELECTION_NONE)
        try:
            estimate = self.predictor.predict(sample)
        except (ValueError, RuntimeError) as exc:
            raise InputError(reasons.INFERENCE_FAILED, str(exc)) from exc
        return Outcome(estimate, sample, choice, outside, unusable)


def describe(outcome: Outcome) -> dict[str, Any]:
    """A compact log/debug view of an outcome."""
    e = outcome.estimate
    return {
        "rssi_db": round(e.rssi_db, 3),
        "pl_db": round(e.path_loss_db, 3),
        "sh_db": round(e.shadow_fading_db, 3),
        "tx_in_view": e.tx_in_view,
        "selection": outcome.choice.selection,
        "modalities": e.modalities,
    }
