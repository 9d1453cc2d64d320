"""Detections from `rssi_ros_msgs/DetectionArray` or `vision_msgs/Detection2DArray` to `data.sample.Box`.

Conversion has two steps because a detection message may arrive before the image it belongs to:
`from_detection_array` / `from_detection2d_array` keep the boxes in pixels (validated, counted),
and `DetectionSet.to_boxes(width, height)` normalises them once the image size is known (the
message's own `image_width/height` win when set; vision_msgs has none). Both functions take any
object with the message's fields (rclpy, rosbags, or a test double for vision_msgs, which is not
installable here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rssi_ros.data.classes import ClassVocabulary
from rssi_ros.data.sample import Box
from rssi_ros.ros import reasons
from rssi_ros.ros.fix_validation import stamp_ns
from rssi_ros.ros.reasons import InputError

# rssi_ros_msgs/Detection.transmitter values.
TRANSMITTER_UNKNOWN, TRANSMITTER_YES, TRANSMITTER_NO = 0, 1, 2
# More boxes than this in one message is a broken detector, not a street scene.
DEFAULT_MAX_DETECTIONS = 256
# A class name of at most this many ASCII digits is a numeric class id (COCO ids have 1-2 digits);
# longer digit strings are names (int() of thousands of digits is refused by Python anyway).
MAX_CLASS_ID_DIGITS = 9


def numeric_class_id(name: str) -> int | None:
    """The class id a detector wrote as a string ("7"), or None for a name.

    Only ASCII digits count: `str.isdigit` is also true for "²" (which `int` refuses) and
    `isdecimal` for "٣" (Arabic-Indic three), neither of which a detector means as a COCO id.
    """
    if name.isascii() and name.isdecimal() and len(name) <= MAX_CLASS_ID_DIGITS:
        return int(name)
    return None


@dataclass(frozen=True)
class PixelBox:
    """One detection in image pixels (centre and size), with the detector's transmitter flag."""

    class_name: str
    cx: float
    cy: float
    w: float
    h: float
    score: float = 1.0
    transmitter: int = TRANSMITTER_UNKNOWN

    def is_finite_positive(self) -> bool:
        values = (self.cx, self.cy, self.w, self.h, self.score)
        return all(math.isfinite(v) for v in values) and self.w > 0 and self.h > 0


@dataclass
class DetectionSet:
    """The valid detections of one message, in pixels, plus what was dropped and why."""

    stamp_ns: int
    image_width: int = 0
    image_height: int = 0
    boxes: list[PixelBox] = field(default_factory=list)
    n_invalid: int = 0
    n_unknown_classes: int = 0

    def to_boxes(self, width: int, height: int) -> tuple[list[Box], int]:
        """Normalised `Box`es for an image of `width` x `height` (the message's own size wins).

        Returns the boxes and how many were dropped because their centre lies outside the image.
        """
        w = self.image_width or width
        h = self.image_height or height
        if w <= 0 or h <= 0:
            raise InputError(reasons.BAD_IMAGE_SIZE, f"cannot normalise boxes without image size ({w}x{h})")
        out: list[Box] = []
        outside = 0
        for b in self.boxes:
            box = Box(
                class_name=b.class_name,
                cx=b.cx / w,
                cy=b.cy / h,
                w=b.w / w,
                h=b.h / h,
                score=b.score,
                is_transmitter=b.transmitter == TRANSMITTER_YES,
            )
            if box.is_valid():
                out.append(box)
            else:
                outside += 1
        return out, outside


def _class_name(name: str, class_id: int | None, vocabulary: ClassVocabulary) -> tuple[str, bool]:
    """The detector's class as the model's vocabulary sees it: (name to keep, known?)."""
    name = name.strip()
    if not name and class_id is not None and class_id >= 0:
        canonical, known = vocabulary.from_yolo_id(class_id)
        return canonical, known
    numeric = numeric_class_id(name)
    if numeric is not None:  # vision_msgs detectors often put the COCO id into class_id (a string)
        return vocabulary.from_yolo_id(numeric)
    _, known = vocabulary.canonical(name)
    return name, known


def _check_count(n: int, max_detections: int) -> None:
    if n > max_detections:
        raise InputError(reasons.TOO_MANY_DETECTIONS, f"{n} detections exceed the limit of {max_detections}")


def from_detection_array(
    msg, vocabulary: ClassVocabulary, max_detections: int = DEFAULT_MAX_DETECTIONS
) -> DetectionSet:
    """Validated pixel boxes of an `rssi_ros_msgs/DetectionArray`."""
    dets = msg.detections
    _check_count(len(dets), max_detections)
    out = DetectionSet(stamp_ns(msg.header.stamp), int(msg.image_width), int(msg.image_height))
    if out.stamp_ns <= 0:
        raise InputError(reasons.ZERO_STAMP, "detection header stamp is unset (0); detections match by stamp")
    for d in dets:
        name, known = _class_name(str(d.class_name), int(d.class_id), vocabulary)
        box = PixelBox(
            name,
            float(d.center_x),
            float(d.center_y),
            float(d.size_x),
            float(d.size_y),
            float(d.score),
            int(d.transmitter),
        )
        if not box.is_finite_positive():
            out.n_invalid += 1
            continue
        out.n_unknown_classes += not known
        out.boxes.append(box)
    return out


def from_detection2d_array(
    msg, vocabulary: ClassVocabulary, max_detections: int = DEFAULT_MAX_DETECTIONS
) -> DetectionSet:
    """Validated pixel boxes of a `vision_msgs/Detection2DArray` (Humble+ layout: results[].hypothesis).

    The most confident hypothesis names the class; a detection without hypotheses is "other".
    vision_msgs has no transmitter flag and no image size (the matched image's size is used).
    """
    dets = msg.detections
    _check_count(len(dets), max_detections)
    out = DetectionSet(stamp_ns(msg.header.stamp))
    if out.stamp_ns <= 0:
        raise InputError(reasons.ZERO_STAMP, "detection header stamp is unset (0); detections match by stamp")
    for d in dets:
        best = max(d.results, key=lambda r: float(r.hypothesis.score), default=None)
        name, score = (
            ("", 1.0) if best is None else (str(best.hypothesis.class_id), float(best.hypothesis.score))
        )
        name, known = _class_name(name, None, vocabulary) if name else ("other", False)
        c = d.bbox.center.position
        box = PixelBox(name, float(c.x), float(c.y), float(d.bbox.size_x), float(d.bbox.size_y), score)
        if not box.is_finite_positive():
            out.n_invalid += 1
            continue
        out.n_unknown_classes += not known
        out.boxes.append(box)
    return out
