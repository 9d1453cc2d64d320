"""Static scenery that never touches the radio link: ground strips, lane markings, buildings, trees.

All of it lies on the ground or beyond the far sidewalk (behind every transmitter position), so it
can neither cut the link nor hide a road user; the renderer draws it once per drive into the
background.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rssi_ros.data.synth import shapes
from rssi_ros.data.synth.config import SynthConfig
from rssi_ros.data.synth.geometry import RoadFrame
from rssi_ros.data.synth.rng import Stream, stream

GRASS = (150, 142, 104)  # dry verge, as in Arizona
CONCRETE = (178, 175, 168)
ASPHALT = (72, 72, 76)
WHITE_PAINT = (225, 225, 220)
YELLOW_PAINT = (220, 180, 40)
BUILDING_COLORS = np.array(
    [[196, 170, 140], [170, 100, 80], [150, 150, 150], [210, 200, 180], [120, 110, 100]], dtype=np.float64
)
WINDOW = (60, 75, 95)
TRUNK = (90, 70, 50)
FOLIAGE = np.array([[60, 100, 50], [80, 120, 60], [50, 85, 45]], dtype=np.float64)

NEAR_GROUND_START_M = -5.0  # ground drawn from behind the camera
LINE_WIDTH_M = 0.15
DASH_LENGTH_M = 3.0
DASH_PERIOD_M = 12.0
BUILDING_WIDTH_M = (8.0, 26.0)
BUILDING_DEPTH_M = (8.0, 16.0)
BUILDING_HEIGHT_M = (4.0, 16.0)
BUILDING_GAP_M = (0.0, 6.0)
FLOOR_HEIGHT_M = 3.5
WINDOW_SPACING_M = 3.0
WINDOW_SIZE_M = (1.3, 1.5)
WINDOW_DEPTH_M = 0.05
TREE_PROBABILITY = 0.5  # per gap between buildings
TREE_HEIGHT_M = (4.0, 8.0)


@dataclass(frozen=True)
class GroundQuad:
    corners: NDArray[np.float64]  # (4, 3) ENU, counter-clockwise seen from above
    color: tuple[int, int, int]


@dataclass(frozen=True)
class Prop:
    """A static object of scenery: boxes in its own frame placed at `centre` (east, north) with `yaw`."""

    centre: NDArray[np.float64]
    yaw: float
    parts: shapes.Parts


@dataclass(frozen=True)
class Scenery:
    ground: list[GroundQuad]
    props: list[Prop]


def _strip(road: RoadFrame, a0: float, a1: float, c0: float, c1: float, color: tuple) -> GroundQuad:
    pts = road.to_enu(np.array([a0, a1, a1, a0]), np.array([c0, c0, c1, c1]))
    return GroundQuad(np.concatenate([pts, np.zeros((4, 1))], axis=-1), color)


def build_scenery(config: SynthConfig, seed: int) -> Scenery:
    r = config.road
    road = RoadFrame(config.site.heading_deg)
    half = r.render_half_length_m
    near_walk = r.distance_m - r.sidewalk_width_m
    far_edge = r.distance_m + r.width_m
    far_walk = far_edge + r.sidewalk_width_m
    back = far_walk + r.building_setback_m
    ground = [
        _strip(road, -half, half, NEAR_GROUND_START_M, near_walk, GRASS),
        _strip(road, -half, half, near_walk, r.distance_m, CONCRETE),
        _strip(road, -half, half, r.distance_m, far_edge, ASPHALT),
        _strip(road, -half, half, far_edge, far_walk, CONCRETE),
        _strip(road, -half, half, far_walk, back + max(BUILDING_DEPTH_M), GRASS),
    ]
    w = LINE_WIDTH_M
    for c in (r.distance_m + 2 * w, far_edge - 2 * w):  # solid edge lines
        ground.append(_strip(road, -half, half, c - w / 2, c + w / 2, WHITE_PAINT))
    centre = r.distance_m + r.lanes_per_direction * r.lane_width_m
    for c in (centre - w, centre + w):  # double yellow centre line
        ground.append(_strip(road, -half, half, c - w / 2, c + w / 2, YELLOW_PAINT))
    for lane in range(1, r.n_lanes):
        if lane == r.lanes_per_direction:
            continue
        c = r.distance_m + lane * r.lane_width_m
        for a in np.arange(-half, half, DASH_PERIOD_M):
            ground.append(_strip(road, a, a + DASH_LENGTH_M, c - w / 2, c + w / 2, WHITE_PAINT))
    return Scenery(ground, _buildings(config, road, seed, back))


def _buildings(config: SynthConfig, road: RoadFrame, seed: int, back: float) -> list[Prop]:
    rng = stream(seed, Stream.BACKGROUND)
    half = config.road.render_half_length_m
    yaw = math.atan2(road.right[1], road.right[0])  # length axis along the road, y axis away
    props: list[Prop] = []
    a = -half
    while a < half:
        width = rng.uniform(*BUILDING_WIDTH_M)
        depth = rng.uniform(*BUILDING_DEPTH_M)
        height = rng.uniform(*BUILDING_HEIGHT_M)
        color = BUILDING_COLORS[rng.integers(len(BUILDING_COLORS))]
        gap = rng.uniform(*BUILDING_GAP_M)
        props.append(
            Prop(road.to_enu(a + width / 2, back + depth / 2), yaw, _building(width, depth, height, color))
        )
        if gap > 2.0 and rng.random() < TREE_PROBABILITY:
            tree_h = rng.uniform(*TREE_HEIGHT_M)
            foliage = FOLIAGE[rng.integers(len(FOLIAGE))]
            props.append(Prop(road.to_enu(a + width + gap / 2, back - 1.5), yaw, _tree(tree_h, foliage)))
        a += width + gap
    return props


def _building(width: float, depth: float, height: float, color: NDArray) -> shapes.Parts:
    b = shapes.PartsBuilder()
    b.add(0.0, 0.0, 0.0, (width, depth, height), color)
    floors = int(height // FLOOR_HEIGHT_M)
    cols = int(width // WINDOW_SPACING_M)
    ww, wh = WINDOW_SIZE_M
    for f in range(floors):
        z = f * FLOOR_HEIGHT_M + 1.0
        for k in range(cols):
            x = -width / 2 + (k + 0.5) * width / cols
            # Windows sit on the facade that faces the road (the box's -y side).
            b.add(x, -depth / 2 - WINDOW_DEPTH_M / 2, z, (ww, WINDOW_DEPTH_M, wh), WINDOW)
    return b.parts()


def _tree(height: float, foliage: NDArray) -> shapes.Parts:
    b = shapes.PartsBuilder()
    b.add(0.0, 0.0, 0.0, (0.35, 0.35, 0.45 * height), TRUNK)
    crown = 0.6 * height
    b.add(0.0, 0.0, 0.4 * height, (crown * 0.7, crown * 0.7, crown), foliage)
    return b.parts()
