"""The shared preprocessing path: normalisation, box tensors, modality masks."""

from __future__ import annotations

import numpy as np
import pytest

from rssi_ros.data.classes import ClassVocabulary
from rssi_ros.data.normalisation import MinMaxNormaliser
from rssi_ros.data.preprocess import (
    PreprocessConfig,
    clamped_distances,
    count_clamped,
    encode_boxes,
    preprocess,
    targets,
)
from rssi_ros.data.sample import Box, Sample
from rssi_ros.physics.geodesy import offset_latlon
from rssi_ros.physics.labels import LabelDefinition

BS = (33.42035, -111.92915)


def _box_tensor(boxes, cfg):
    """encode_boxes as a tuple: (tensor, mask, tx_in_view, n_used, n_unknown_classes, n_dropped)."""
    e = encode_boxes(boxes, cfg)
    return e.tensor, e.mask, e.tx_in_view, e.n_used, e.n_unknown_classes, e.n_dropped


def test_normaliser_round_trip_and_range():
    rng = np.random.default_rng(1)
    train = rng.normal(0, 50, (200, 2))
    norm = MinMaxNormaliser.fit(train)
    scaled = norm.transform(train)
    assert scaled.min(axis=0) == pytest.approx([0.0, 0.0])
    assert scaled.max(axis=0) == pytest.approx([1.0, 1.0])
    test = rng.normal(0, 80, (50, 2))
    np.testing.assert_allclose(norm.inverse(norm.transform(test)), test, atol=1e-9)
    assert MinMaxNormaliser.from_dict(norm.to_dict()) == norm


def test_normaliser_constant_column_does_not_divide_by_zero():
    norm = MinMaxNormaliser.fit([[5.0, 1.0], [5.0, 3.0]])
    assert norm.transform([[5.0, 2.0]]).tolist() == [[0.0, 0.5]]


def _box(name: str, cx: float, w: float, tx: bool = False, score: float = 0.9) -> Box:
    return Box(name, cx, 0.5, w, w / 2, score=score, is_transmitter=tx)


def test_transmitter_takes_slot_zero_and_rest_sorted_by_area():
    cfg = PreprocessConfig(max_objects=4)
    boxes = [
        _box("person", 0.1, 0.05),
        _box("truck", 0.5, 0.3),
        _box("car", 0.7, 0.1, tx=True),
        _box("car", 0.2, 0.2),
    ]
    tensor, mask, in_view, n, unknown, dropped = _box_tensor(boxes, cfg)
    n_cls = len(cfg.classes)
    assert in_view and n == 4 and unknown == 0 and dropped == 0
    assert mask.tolist() == [True, True, True, True]
    names = [cfg.classes.names[int(np.argmax(tensor[i, :n_cls]))] for i in range(4)]
    assert names == ["car", "truck", "car", "person"]
    assert tensor[0, n_cls + 4] == 1.0 and tensor[1:, n_cls + 4].sum() == 0.0
    assert tensor[0, n_cls] == pytest.approx(0.7)
    # Input order does not matter.
    again, *_ = _box_tensor(list(reversed(boxes)), cfg)
    np.testing.assert_array_equal(tensor, again)


def test_truncation_padding_and_interference_removed():
    cfg = PreprocessConfig(max_objects=3)
    boxes = [_box("car", 0.1 * i + 0.05, 0.01 * (i + 1)) for i in range(6)]
    tensor, mask, in_view, n, _, dropped = _box_tensor(boxes, cfg)
    assert not in_view and mask.tolist() == [False, True, True] and n == 2 and dropped == 4
    assert np.all(tensor[0] == 0)
    cfg_ir = PreprocessConfig(max_objects=3, interference_removed=True)
    tensor, mask, in_view, n, _, _ = _box_tensor([*boxes, _box("car", 0.5, 0.2, tx=True)], cfg_ir)
    assert in_view and mask.tolist() == [True, False, False] and n == 1
    assert np.all(tensor[1:] == 0)


def test_unknown_classes_map_to_other_and_invalid_boxes_are_dropped():
    cfg = PreprocessConfig(classes=ClassVocabulary())
    boxes = [
        _box("zeppelin", 0.5, 0.1),
        Box("car", float("nan"), 0.5, 0.1, 0.1),
        Box("car", 0.5, 0.5, 0.0, 0.1),
    ]
    tensor, _mask, _, n, unknown, dropped = _box_tensor(boxes, cfg)
    assert n == 1 and unknown == 1 and dropped == 2
    assert tensor[1, cfg.classes.names.index("other")] == 1.0


def test_preprocess_masks_missing_modalities_and_keeps_geometry():
    tx_lat, tx_lon = offset_latlon(*BS, 30.0, 40.0)
    norm = MinMaxNormaliser((-100.0, -100.0), (100.0, 100.0))
    cfg = PreprocessConfig(image_size=64)
    s = Sample(rx_lat=BS[0], rx_lon=BS[1], tx_lat=float(tx_lat), tx_lon=float(tx_lon), rssi_db=-60.0)
    mi = preprocess(s, cfg, norm)
    assert mi.modalities.tolist() == [True, False, False] and mi.modality_bits == 1
    assert mi.image.shape == (64, 64, 3) and not mi.image.any()
    assert mi.distance_m == pytest.approx(50.0, abs=1e-3)
    assert mi.position == pytest.approx([0.65, 0.7], abs=1e-4)
    img = np.full((540, 960, 3), 200, np.uint8)
    mi2 = preprocess(s.with_(image=img, boxes=[]), cfg, norm)
    assert mi2.modalities.tolist() == [True, True, True] and mi2.modality_bits == 7
    assert mi2.image.shape == (64, 64, 3) and int(mi2.image[10, 10, 0]) == 200
    assert not mi2.box_mask.any()
    t = targets(s, mi.distance_m, cfg.label)
    assert t.rssi_db == -60.0
    assert t.path_loss_db + t.shadow_fading_db == pytest.approx(60.0, abs=1e-12)


def test_interference_removed_counts_removed_distractors_apart_from_dropped_boxes():
    distractors = [_box("car", 0.1 * i + 0.05, 0.01 * (i + 1)) for i in range(6)]
    boxes = [*distractors, _box("car", 0.5, 0.2, tx=True), Box("truck", float("nan"), 0.5, 0.1, 0.1)]
    full = encode_boxes(boxes, PreprocessConfig(max_objects=3))
    # 1 invalid + 4 distractors beyond the 2 free slots; nothing removed on purpose.
    assert (full.n_used, full.n_dropped, full.n_removed_distractors) == (3, 5, 0)
    ir = encode_boxes(boxes, PreprocessConfig(max_objects=3, interference_removed=True))
    # Only the invalid box is dropped; the six valid distractors are removed by the protocol.
    assert (ir.n_used, ir.n_dropped, ir.n_removed_distractors) == (1, 1, 6)
    assert ir.mask.tolist() == [True, False, False] and ir.tx_in_view
    norm = MinMaxNormaliser((-100.0, -100.0), (100.0, 100.0))
    s = Sample(rx_lat=BS[0], rx_lon=BS[1], tx_lat=BS[0] + 1e-4, tx_lon=BS[1], rssi_db=-60.0, boxes=boxes)
    mi = preprocess(s, PreprocessConfig(image_size=32, max_objects=3, interference_removed=True), norm)
    assert (mi.num_boxes, mi.n_dropped_boxes, mi.n_removed_distractors) == (1, 1, 6)
    mi = preprocess(s, PreprocessConfig(image_size=32, max_objects=3), norm)
    assert (mi.num_boxes, mi.n_dropped_boxes, mi.n_removed_distractors) == (3, 5, 0)


def test_clamped_distances_are_the_samples_targets_marks_clamped():
    norm = MinMaxNormaliser((-100.0, -100.0), (100.0, 100.0))
    label = LabelDefinition(min_distance_m=1.0)
    samples = []
    for east in (0.0, 0.4, 0.99, 1.01, 3.0, 250.0):
        lat, lon = offset_latlon(*BS, east, 0.0)
        samples.append(
            Sample(rx_lat=BS[0], rx_lon=BS[1], tx_lat=float(lat), tx_lon=float(lon), rssi_db=-50.0)
        )
    expected = [
        targets(s, preprocess(s, PreprocessConfig(), norm).distance_m, label).clamped for s in samples
    ]
    assert expected == [True, True, True, False, False, False]
    assert clamped_distances(samples, label).tolist() == expected
    assert count_clamped(samples, label) == 3
    assert count_clamped(samples, LabelDefinition(min_distance_m=5.0)) == 5
    assert count_clamped([], label) == 0 and clamped_distances([], label).dtype == bool
