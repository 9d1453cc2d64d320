"""Detections to `Box`: pixels to YOLO-normalised, classes via the model's vocabulary, bad boxes counted."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from rssi_ros.data.classes import ClassVocabulary
from rssi_ros.ros import reasons
from rssi_ros.ros.detection_conversion import (
    TRANSMITTER_NO,
    TRANSMITTER_YES,
    DetectionSet,
    PixelBox,
    from_detection2d_array,
    from_detection_array,
    numeric_class_id,
)
from rssi_ros.ros.reasons import InputError
from rssi_ros_msgs import msg as msgs

VOCAB = ClassVocabulary()


def _array(dets, width=960, height=540, sec=10, nsec=0):
    arr = msgs.DetectionArray()
    arr.header.stamp.sec, arr.header.stamp.nanosec = sec, nsec
    arr.image_width, arr.image_height = width, height
    for name, cid, score, cx, cy, w, h, tx in dets:
        d = msgs.Detection()
        d.class_name, d.class_id, d.score = name, cid, score
        d.center_x, d.center_y, d.size_x, d.size_y = cx, cy, w, h
        d.transmitter = tx
        arr.detections.append(d)
    return arr


def test_pixels_become_normalised_boxes_with_flags():
    arr = _array(
        [
            ("car", -1, 0.75, 480.0, 270.0, 96.0, 54.0, TRANSMITTER_YES),
            ("person", 0, 0.5, 96.0, 54.0, 9.6, 27.0, 0),
        ]
    )
    dets = from_detection_array(arr, VOCAB)
    assert dets.stamp_ns == 10 * 10**9 and (dets.n_invalid, dets.n_unknown_classes) == (0, 0)
    boxes, outside = dets.to_boxes(100, 100)  # the message's own size (960x540) wins
    assert outside == 0
    car, person = boxes
    assert (car.class_name, car.cx, car.cy, car.w, car.h, car.score) == ("car", 0.5, 0.5, 0.1, 0.1, 0.75)
    assert car.is_transmitter and not person.is_transmitter
    assert person.cx == pytest.approx(0.1) and person.h == pytest.approx(0.05)


def test_image_size_falls_back_to_the_image_and_must_exist():
    dets = from_detection_array(_array([("car", -1, 1.0, 50.0, 25.0, 10.0, 10.0, 0)], 0, 0), VOCAB)
    boxes, _ = dets.to_boxes(100, 50)
    assert (boxes[0].cx, boxes[0].cy) == (0.5, 0.5)
    with pytest.raises(InputError) as info:
        dets.to_boxes(0, 0)
    assert info.value.reason == reasons.BAD_IMAGE_SIZE


def test_class_ids_map_through_coco_when_the_name_is_empty():
    dets = from_detection_array(
        _array([("", 2, 1.0, 1, 1, 1, 1, 0), ("", 7, 1.0, 1, 1, 1, 1, 0), ("", 55, 1.0, 1, 1, 1, 1, 0)]),
        VOCAB,
    )
    assert [b.class_name for b in dets.boxes] == ["car", "truck", "other"]
    assert dets.n_unknown_classes == 1


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("7", 7),
        ("02", 2),
        ("²", None),
        ("٣", None),
        ("car", None),
        ("", None),
        ("-1", None),
        ("9" * 5000, None),
    ],
)
def test_only_short_ascii_digit_strings_are_class_ids(name, expected):
    assert numeric_class_id(name) == expected


def test_digit_like_unicode_class_names_are_names_not_a_crash():
    # "²".isdigit() is True but int("²") raises; "٣" is a decimal digit int() accepts, but no detector
    # means an Arabic-Indic three as COCO id 3. Both are unknown names, kept and counted.
    dets = from_detection_array(
        _array(
            [
                ("²", -1, 1.0, 1, 1, 1, 1, 0),
                ("٣", -1, 1.0, 1, 1, 1, 1, 0),
                ("9" * 5000, -1, 1.0, 1, 1, 1, 1, 0),
            ]
        ),
        VOCAB,
    )
    assert [b.class_name for b in dets.boxes] == ["²", "٣", "9" * 5000]
    assert dets.n_unknown_classes == 3


def test_unknown_classes_are_kept_and_counted():
    dets = from_detection_array(
        _array([("spaceship", -1, 1.0, 1, 1, 1, 1, 0), ("Van", -1, 1.0, 1, 1, 1, 1, 0)]), VOCAB
    )
    assert [b.class_name for b in dets.boxes] == ["spaceship", "Van"]  # preprocess maps them
    assert dets.n_unknown_classes == 1  # "van" is an alias of car


def test_invalid_boxes_are_dropped_and_counted():
    dets = from_detection_array(
        _array(
            [
                ("car", -1, 1.0, math.nan, 1, 1, 1, 0),
                ("car", -1, 1.0, 1, 1, 0.0, 1, 0),
                ("car", -1, 1.0, 1, 1, 1, -3.0, 0),
                ("car", -1, math.inf, 1, 1, 1, 1, 0),
                ("car", -1, 1.0, 5, 5, 2, 2, TRANSMITTER_NO),
            ]
        ),
        VOCAB,
    )
    assert dets.n_invalid == 4 and len(dets.boxes) == 1


def test_centres_outside_the_image_are_counted_at_normalisation():
    dets = DetectionSet(1, 100, 100, [PixelBox("car", 150, 50, 10, 10), PixelBox("car", 50, 50, 10, 10)])
    boxes, outside = dets.to_boxes(0, 0)
    assert outside == 1 and len(boxes) == 1


def test_empty_arrays_mean_nothing_found_and_oversize_arrays_are_rejected():
    assert from_detection_array(_array([]), VOCAB).boxes == []
    big = _array([("car", -1, 1.0, 1, 1, 1, 1, 0)] * 11)
    with pytest.raises(InputError) as info:
        from_detection_array(big, VOCAB, max_detections=10)
    assert info.value.reason == reasons.TOO_MANY_DETECTIONS
    with pytest.raises(InputError) as info:
        from_detection_array(_array([], sec=0), VOCAB)
    assert info.value.reason == reasons.ZERO_STAMP


def _d2d(results, cx, cy, w, h):
    hyps = [SimpleNamespace(hypothesis=SimpleNamespace(class_id=c, score=s)) for c, s in results]
    return SimpleNamespace(
        results=hyps,
        bbox=SimpleNamespace(
            center=SimpleNamespace(position=SimpleNamespace(x=cx, y=cy), theta=0.0), size_x=w, size_y=h
        ),
        id="",
    )


def test_vision_msgs_layout_takes_the_best_hypothesis():
    """vision_msgs is not installable here: a stand-in with the Humble+ field layout."""
    msg = SimpleNamespace(
        header=SimpleNamespace(stamp=SimpleNamespace(sec=3, nanosec=500)),
        detections=[
            _d2d([("person", 0.2), ("car", 0.9)], 100.0, 50.0, 20.0, 10.0),
            _d2d([("7", 0.8)], 10.0, 10.0, 4.0, 4.0),  # COCO id as a string
            _d2d([], 10.0, 10.0, 4.0, 4.0),  # no hypothesis: "other"
            _d2d([("car", 0.5)], 10.0, 10.0, math.nan, 4.0),
            _d2d([("²", 0.6)], 10.0, 10.0, 4.0, 4.0),  # digit-like, but a name
        ],
    )
    dets = from_detection2d_array(msg, VOCAB)
    assert dets.stamp_ns == 3 * 10**9 + 500
    assert [(b.class_name, b.score) for b in dets.boxes] == [
        ("car", pytest.approx(0.9)),
        ("truck", pytest.approx(0.8)),
        ("other", 1.0),
        ("²", pytest.approx(0.6)),
    ]
    assert dets.n_invalid == 1 and dets.n_unknown_classes == 2
    boxes, _ = dets.to_boxes(200, 100)  # vision_msgs has no image size: the image's is used
    assert (boxes[0].cx, boxes[0].cy, boxes[0].w, boxes[0].h) == (0.5, 0.5, 0.1, 0.1)
    assert not any(b.is_transmitter for b in boxes)
