"""What each class of object looks like: a few oriented boxes ("parts") in the object's own frame.

Frame of an object: x along its length (direction of travel), y across, z up from the ground.
Parts are listed in drawing order (inner parts first), which the renderer keeps within an object.
The proportions below are shape, not physics: the radio model uses the same boxes, so a tall
truck cuts the link where a low car only grazes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

# How a part is lit: shaded by sun and sky, a lamp (glows at dusk), or an always-bright marker.
SHADED, LAMP, MARKER = 0, 1, 2

TYRE = (28, 28, 30)
GLASS = (38, 48, 60)
HEADLIGHT = (235, 232, 215)
TAILLIGHT = (170, 20, 20)
SKIN = (205, 160, 130)
TROUSERS = (45, 50, 70)
POLE = (120, 122, 125)
FRAME = (40, 40, 44)
MARKER_COLOR = (0, 235, 255)  # the transmitter's roof antenna unit

# Shares of an object's size; named so the shapes can be read and tuned.
WHEEL_DIAMETER_CAR = 0.62
WHEEL_DIAMETER_LARGE = 1.0
CAR_CHASSIS_BOTTOM = 0.28
CAR_CHASSIS_SHARE = 0.45  # of the height
CAR_CABIN_LENGTH_SHARE = 0.55
ROOF_THICKNESS = 0.06
LAMP_SIZE = (0.04, 0.32, 0.12)
MARKER_SIZE = (0.45, 0.45, 0.14)
TRUCK_CAB_LENGTH = 2.2
PERSON_LEG_SHARE = 0.47
PERSON_TORSO_SHARE = 0.82
HEAD_SIZE = 0.22
SIGN_PLATE_HEIGHT = 0.7


@dataclass
class Parts:
    """Boxes of one object: centre offsets (x, y, z) in its frame, half extents, RGB colours, kinds.

    `group`: parts of one group are drawn together in their listed order (a cabin after the body it
    sits on); groups are drawn far to near (a truck's cab and cargo box, each wheel on its own).
    """

    offset: NDArray[np.float64]
    half: NDArray[np.float64]
    color: NDArray[np.float64]
    kind: NDArray[np.int64]
    group: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.kind)

    @cached_property
    def group_members(self) -> list[NDArray[np.int64]]:
        """Part indices of each group, groups in order of first appearance."""
        groups = list(dict.fromkeys(self.group.tolist()))
        return [np.flatnonzero(self.group == g) for g in groups]


class PartsBuilder:
    def __init__(self) -> None:
        self.rows: list[tuple[tuple[float, float, float], tuple[float, float, float], tuple, int, int]] = []
        self.group = 0

    def add(
        self,
        x: float,
        y: float,
        z0: float,
        size: tuple[float, float, float],
        color: tuple | NDArray,
        kind: int = SHADED,
    ) -> None:
        lx, wy, hz = size
        row = ((x, y, z0 + hz / 2.0), (lx / 2.0, wy / 2.0, hz / 2.0), tuple(color), kind, self.group)
        self.rows.append(row)

    def new_group(self) -> None:
        self.group += 1

    def parts(self) -> Parts:
        return Parts(
            offset=np.array([r[0] for r in self.rows], dtype=np.float64),
            half=np.array([r[1] for r in self.rows], dtype=np.float64),
            color=np.array([r[2] for r in self.rows], dtype=np.float64),
            kind=np.array([r[3] for r in self.rows], dtype=np.int64),
            group=np.array([r[4] for r in self.rows], dtype=np.int64),
        )


def _wheels(b: PartsBuilder, length: float, width: float, diameter: float, axles: tuple[float, ...]) -> None:
    for x in axles:
        for side in (-1.0, 1.0):
            b.new_group()
            b.add(x * length, side * (width / 2.0 - 0.14), 0.0, (diameter, 0.24, diameter), TYRE)


def _lamps(
    b: PartsBuilder, length: float, width: float, z: float, front: bool = True, rear: bool = True
) -> None:
    for side in (-1.0, 1.0):
        y = side * (width / 2.0 - 0.3)
        if front:
            b.add(length / 2.0 + LAMP_SIZE[0] / 2.0, y, z, LAMP_SIZE, HEADLIGHT, LAMP)
        if rear:
            b.add(-length / 2.0 - LAMP_SIZE[0] / 2.0, y, z, LAMP_SIZE, TAILLIGHT, LAMP)


def car(length: float, width: float, height: float, color: NDArray, marker: bool = False) -> Parts:
    b = PartsBuilder()
    _wheels(b, length, width, WHEEL_DIAMETER_CAR, (-0.32, 0.32))
    b.new_group()
    chassis_h = CAR_CHASSIS_SHARE * height
    chassis_top = CAR_CHASSIS_BOTTOM + chassis_h
    b.add(0.0, 0.0, CAR_CHASSIS_BOTTOM, (length, width, chassis_h), color)
    cabin_len = CAR_CABIN_LENGTH_SHARE * length
    cabin_h = max(height - chassis_top - ROOF_THICKNESS, 0.05)
    b.add(-0.05 * length, 0.0, chassis_top, (cabin_len, 0.9 * width, cabin_h), GLASS)
    b.add(-0.05 * length, 0.0, height - ROOF_THICKNESS, (cabin_len, 0.9 * width, ROOF_THICKNESS), color)
    _lamps(b, length, width, CAR_CHASSIS_BOTTOM + 0.5 * chassis_h)
    if marker:
        b.add(-0.05 * length, 0.0, height, MARKER_SIZE, MARKER_COLOR, MARKER)
    return b.parts()


def truck(length: float, width: float, height: float, color: NDArray, cargo: NDArray) -> Parts:
    b = PartsBuilder()
    _wheels(b, length, width, WHEEL_DIAMETER_LARGE, (-0.38, -0.22, 0.36))
    b.new_group()
    cab_h = max(0.8 * height, 2.2)
    b.add(length / 2.0 - TRUCK_CAB_LENGTH / 2.0, 0.0, 0.5, (TRUCK_CAB_LENGTH, width, cab_h - 0.5), color)
    b.add(length / 2.0 - 0.25, 0.0, 0.5 + 0.55 * (cab_h - 0.5), (0.52, 0.94 * width, 0.6), GLASS)
    _lamps(b, length, width, 0.8, rear=False)
    box_len = length - TRUCK_CAB_LENGTH - 0.2
    b.new_group()
    b.add(-length / 2.0 + box_len / 2.0, 0.0, 0.6, (box_len, width, height - 0.6), cargo)
    _lamps(b, length, width, 0.8, front=False)
    return b.parts()


def bus(length: float, width: float, height: float, color: NDArray) -> Parts:
    b = PartsBuilder()
    _wheels(b, length, width, WHEEL_DIAMETER_LARGE, (-0.3, 0.3))
    b.new_group()
    b.add(0.0, 0.0, 0.35, (length, width, height - 0.35), color)
    b.add(0.0, 0.0, 0.45 * height, (0.92 * length, width + 0.04, 0.33 * height), GLASS)
    _lamps(b, length, width, 0.7)
    return b.parts()


def two_wheeler(length: float, width: float, height: float, color: NDArray, motor: bool) -> Parts:
    b = PartsBuilder()
    d = 0.6 if motor else 0.68
    for x in (-0.5 * (length - d), 0.5 * (length - d)):
        b.new_group()
        b.add(x, 0.0, 0.0, (d, 0.1, d), TYRE)
    b.new_group()
    if motor:
        b.add(0.0, 0.0, 0.35, (0.55 * length, 0.9 * width, 0.5), color)
    else:
        b.add(0.0, 0.0, 0.3, (0.6 * length, 0.08, 0.6), FRAME)
    seat = 0.9
    torso_top = height - HEAD_SIZE
    b.add(-0.1, 0.0, seat, (0.35, min(0.45, 2.0 * width), max(torso_top - seat, 0.1)), color)
    b.add(-0.05, 0.0, torso_top, (HEAD_SIZE, HEAD_SIZE, HEAD_SIZE), FRAME if motor else SKIN)
    return b.parts()


def person(length: float, width: float, height: float, color: NDArray) -> Parts:
    b = PartsBuilder()
    legs = PERSON_LEG_SHARE * height
    torso = PERSON_TORSO_SHARE * height
    b.add(0.0, 0.0, 0.0, (0.8 * length, 0.75 * width, legs), TROUSERS)
    b.add(0.0, 0.0, legs, (length, width, torso - legs), color)
    head = min(HEAD_SIZE, height - torso)
    b.add(0.0, 0.0, height - head, (head, head, head), SKIN)
    return b.parts()


def sign(length: float, width: float, height: float, color: NDArray) -> Parts:
    b = PartsBuilder()
    b.add(0.0, 0.0, 0.0, (0.08, 0.08, height - 0.1), POLE)
    b.add(0.05, 0.0, height - SIGN_PLATE_HEIGHT, (length, width, SIGN_PLATE_HEIGHT), color)
    return b.parts()


def build(class_name: str, length: float, width: float, height: float, color: NDArray, **kw) -> Parts:
    """Parts of an object of the given class and size."""
    if class_name == "car":
        return car(length, width, height, color, marker=kw.get("marker", False))
    if class_name == "truck":
        return truck(length, width, height, color, kw.get("cargo", color))
    if class_name == "bus":
        return bus(length, width, height, color)
    if class_name in ("motorcycle", "bicycle"):
        return two_wheeler(length, width, height, color, motor=class_name == "motorcycle")
    if class_name == "person":
        return person(length, width, height, color)
    if class_name == "sign":
        return sign(length, width, height, color)
    raise ValueError(f"no shape for class {class_name!r}")
