"""The one preprocessing path from `Sample` to model input, shared by trainer, evaluator and node.

Because the same function runs offline and on the robot, what was measured offline is what runs
online (no train/serve skew), and a test can compare the node's output with offline inference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from rssi_ros.data.classes import ClassVocabulary
from rssi_ros.data.images import load_rgb, resize_square
from rssi_ros.data.normalisation import MinMaxNormaliser
from rssi_ros.data.sample import Box, Sample
from rssi_ros.physics.geodesy import geodesic_distance_m, relative_position
from rssi_ros.physics.labels import LabelDefinition, decompose, path_loss_db

# Order of the modality flags in `ModelInput.modalities` (bit i of RssiEstimate.modalities is 1 << i).
MODALITY_POSITION, MODALITY_IMAGE, MODALITY_BOXES = 0, 1, 2
N_MODALITIES = 3
# Per-object features after the one-hot class: cx, cy, w, h, transmitter flag.
BOX_GEOMETRY_FEATURES = 5


@dataclass(frozen=True)
class PreprocessConfig:
    """Everything that shapes model input; stored in the checkpoint next to the weights."""

    image_size: int = 224
    max_objects: int = 10
    classes: ClassVocabulary = field(default_factory=ClassVocabulary)
    label: LabelDefinition = field(default_factory=LabelDefinition)
    # Table IV protocol: keep only the transmitter's box (distractors removed).
    interference_removed: bool = False

    def __post_init__(self) -> None:
        if self.image_size < 32:
            raise ValueError("image_size must be at least 32")
        if self.max_objects < 1:
            raise ValueError("max_objects must be at least 1 (slot 0 is the transmitter)")

    @property
    def box_features(self) -> int:
        return len(self.classes) + BOX_GEOMETRY_FEATURES

    def to_dict(self) -> dict:
        return {
            "image_size": self.image_size,
            "max_objects": self.max_objects,
            "classes": self.classes.to_dict(),
            "label": self.label.to_dict(),
            "interference_removed": self.interference_removed,
        }

    @classmethod
    def from_dict(cls, d: dict) -> PreprocessConfig:
        return cls(
            image_size=int(d["image_size"]),
            max_objects=int(d["max_objects"]),
            classes=ClassVocabulary.from_dict(d["classes"]),
            label=LabelDefinition.from_dict(d["label"]),
            interference_removed=bool(d.get("interference_removed", False)),
        )


@dataclass
class ModelInput:
    """Model input of one sample (numpy; batching turns these into tensors).

    image: size x size x 3 uint8 RGB (zeros when missing); position: normalised [east, north];
    boxes: (max_objects, box_features), slot 0 reserved for the transmitter (zeros when not in view);
    box_mask: which slots hold an object; modalities: [position, image, boxes] availability.
    n_dropped_boxes: boxes not fed to the model because they were invalid or beyond the
    `max_objects` slots; n_removed_distractors: boxes left out on purpose by the Table IV protocol
    (`interference_removed`), counted apart so the first stays a data-quality signal.
    """

    image: NDArray[np.uint8]
    position: NDArray[np.float32]
    boxes: NDArray[np.float32]
    box_mask: NDArray[np.bool_]
    modalities: NDArray[np.bool_]
    distance_m: float
    east_m: float
    north_m: float
    tx_in_view: bool
    num_boxes: int
    n_unknown_classes: int = 0
    n_dropped_boxes: int = 0
    n_removed_distractors: int = 0

    @property
    def modality_bits(self) -> int:
        return int(sum(1 << i for i, used in enumerate(self.modalities) if used))


@dataclass(frozen=True)
class Targets:
    """Decomposed labels of one sample, dB."""

    rssi_db: float
    path_loss_db: float
    shadow_fading_db: float
    clamped: bool


def order_boxes(boxes: list[Box]) -> tuple[Box | None, list[Box]]:
    """Split off the transmitter and order the rest deterministically.

    The rest are sorted by descending area (large, near objects first, so truncation drops the
    least relevant ones), then by centre x and y, then class name, so the order never depends on
    the detector's output order.
    """
    tx = [b for b in boxes if b.is_transmitter]
    # With several flagged boxes, the most confident one is the transmitter; others become distractors.
    tx.sort(key=lambda b: (-b.score, -b.area, b.cx, b.cy))
    transmitter = tx[0] if tx else None
    rest = [b for b in boxes if b is not transmitter]
    rest.sort(key=lambda b: (-b.area, b.cx, b.cy, b.class_name))
    return transmitter, rest


@dataclass(frozen=True)
class BoxEncoding:
    """Boxes encoded for the model, and what happened to the boxes that were not encoded.

    n_dropped: invalid boxes (non-finite, empty, centre outside the image) plus valid ones beyond
    the `max_objects` slots. n_removed_distractors: valid non-transmitter boxes that the
    interference-removed protocol leaves out by design (0 otherwise).
    """

    tensor: NDArray[np.float32]
    mask: NDArray[np.bool_]
    tx_in_view: bool
    n_used: int
    n_unknown_classes: int
    n_dropped: int
    n_removed_distractors: int = 0


def encode_boxes(boxes: list[Box] | None, config: PreprocessConfig) -> BoxEncoding:
    """Encode boxes to (max_objects, features) plus mask, counting every box that is not encoded.

    Invalid boxes (non-finite, empty, centre outside the image) are dropped and counted, never fed
    to the model.
    """
    k = config.max_objects
    n_cls = len(config.classes)
    tensor = np.zeros((k, config.box_features), dtype=np.float32)
    mask = np.zeros(k, dtype=bool)
    if not boxes:
        return BoxEncoding(tensor, mask, False, 0, 0, 0)
    valid = [b for b in boxes if b.is_valid()]
    dropped = len(boxes) - len(valid)
    transmitter, rest = order_boxes(valid)
    removed = 0
    if config.interference_removed:
        removed, rest = len(rest), []
    slots: list[tuple[int, Box]] = []
    if transmitter is not None:
        slots.append((0, transmitter))
    slots.extend((i + 1, b) for i, b in enumerate(rest[: k - 1]))
    dropped += max(0, len(rest) - (k - 1))
    unknown = 0
    for slot, b in slots:
        name, known = config.classes.canonical(b.class_name)
        unknown += not known
        tensor[slot, config.classes.names.index(name)] = 1.0
        tensor[slot, n_cls : n_cls + 4] = (b.cx, b.cy, min(b.w, 1.0), min(b.h, 1.0))
        tensor[slot, n_cls + 4] = 1.0 if slot == 0 else 0.0
        mask[slot] = True
    return BoxEncoding(tensor, mask, transmitter is not None, len(slots), unknown, dropped, removed)


def prepare_image(sample: Sample, size: int) -> NDArray[np.uint8] | None:
    """Decoded, resized RGB of the sample, or None when it has no image."""
    if sample.image is not None:
        return resize_square(sample.image, size)
    if sample.image_path is not None:
        return resize_square(load_rgb(sample.image_path), size)
    return None


def preprocess(
    sample: Sample,
    config: PreprocessConfig,
    normaliser: MinMaxNormaliser,
    image: NDArray[np.uint8] | None = None,
) -> ModelInput:
    """Turn one `Sample` into `ModelInput`.

    `image` may pass an already resized image (from the cache) to skip decoding; otherwise the
    sample's image is decoded and resized here.
    """
    rel = relative_position(sample.rx_lat, sample.rx_lon, sample.tx_lat, sample.tx_lon)
    east, north, distance = float(rel.east_m), float(rel.north_m), float(rel.distance_m)
    position = normaliser.transform(np.array([east, north])).astype(np.float32)
    img = image if image is not None else prepare_image(sample, config.image_size)
    if img is not None and img.shape != (config.image_size, config.image_size, 3):
        raise ValueError(
            f"cached image has shape {img.shape}, expected {config.image_size}x{config.image_size}x3"
        )
    enc = encode_boxes(sample.boxes, config)
    modalities = np.array([True, img is not None, sample.boxes is not None], dtype=bool)
    return ModelInput(
        image=img if img is not None else np.zeros((config.image_size, config.image_size, 3), np.uint8),
        position=position,
        boxes=enc.tensor,
        box_mask=enc.mask,
        modalities=modalities,
        distance_m=distance,
        east_m=east,
        north_m=north,
        tx_in_view=enc.tx_in_view,
        num_boxes=enc.n_used,
        n_unknown_classes=enc.n_unknown_classes,
        n_dropped_boxes=enc.n_dropped,
        n_removed_distractors=enc.n_removed_distractors,
    )


def targets(sample: Sample, distance_m: float, label: LabelDefinition) -> Targets:
    """Decomposed labels of a labelled sample."""
    if sample.rssi_db is None:
        raise ValueError(f"sample {sample.key} has no RSSI label")
    lab = decompose(sample.rssi_db, distance_m, label)
    return Targets(
        rssi_db=float(lab.rssi_db),
        path_loss_db=float(lab.path_loss_db),
        shadow_fading_db=float(lab.shadow_fading_db),
        clamped=bool(lab.clamped),
    )


def clamped_distances(samples: Sequence[Sample], label: LabelDefinition) -> NDArray[np.bool_]:
    """Which samples' path-loss labels use `label.min_distance_m` instead of their distance.

    The same distance and the same test as `preprocess` + `targets` (`Targets.clamped`), vectorised
    so `data stats` and the trainer (run provenance) count them without preprocessing: a clamped
    sample's path loss is a constant, so many of them (a transmitter parked at the mast, GPS glitches) would
    quietly teach the shadow-fading head what the distance should have explained.
    """
    if not samples:
        return np.zeros(0, dtype=bool)
    distance = geodesic_distance_m(
        [s.rx_lat for s in samples],
        [s.rx_lon for s in samples],
        [s.tx_lat for s in samples],
        [s.tx_lon for s in samples],
    )
    _, clamped = path_loss_db(distance, label)
    return clamped


def count_clamped(samples: Sequence[Sample], label: LabelDefinition) -> int:
    """How many samples have a clamped distance (see `clamped_distances`)."""
    return int(np.count_nonzero(clamped_distances(samples, label)))
