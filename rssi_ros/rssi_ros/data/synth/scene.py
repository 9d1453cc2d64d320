"""The world over time: the road, the transmitter's drives and everything else that moves or stands.

`plan_scene` decides everything random about the world up front (per drive, from independent
streams) and returns plain data; radio, rendering and labels are then pure functions of a frame's
time, which is what keeps the output deterministic and lets frames render in any order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from rssi_ros.data.camera import CameraModel
from rssi_ros.data.synth import shapes
from rssi_ros.data.synth.config import MOVING_CLASSES, FixedObject, SynthConfig
from rssi_ros.data.synth.geometry import RoadFrame, compass_to_yaw
from rssi_ros.data.synth.lighting import Lighting, draw_lighting
from rssi_ros.data.synth.rng import Stream, stream

# Everyday car colours; none is close to the transmitter's reserved colour.
VEHICLE_COLORS = np.array(
    [
        [235, 235, 235],
        [190, 192, 196],
        [120, 122, 128],
        [30, 30, 34],
        [30, 50, 110],
        [120, 20, 24],
        [200, 190, 160],
        [40, 80, 50],
        [70, 110, 150],
    ],
    dtype=np.float64,
)
CARGO_COLORS = np.array([[230, 230, 226], [200, 200, 200], [150, 160, 175], [60, 90, 140]], np.float64)
SHIRT_COLORS = np.array(
    [[200, 40, 40], [40, 90, 170], [230, 230, 230], [30, 30, 30], [70, 140, 70], [140, 90, 160]], np.float64
)
SIGN_COLORS = np.array([[200, 20, 30], [20, 70, 170], [240, 240, 240], [240, 200, 20], [20, 120, 60]])
BICYCLE_CURB_OFFSET_M = 0.8  # cyclists ride this far from the curb
SIDEWALK_MARGIN_M = 0.4
ESCORT_CLASSES = ("truck", "bus")
ESCORT_TRUCK_SHARE = 0.7
ESCORT_ALIGN_RANGE_M = 12.0  # the escort is level with the Tx somewhere within +-this of the centre
PLACEMENT_TRIES = 12


@dataclass
class Actor:
    """One object: class, size, colour, parts, and straight-line motion from `start` at drive time 0."""

    actor_id: int
    class_name: str
    length: float
    width: float
    height: float
    start: NDArray[np.float64]  # (2,) east, north of the centre at t = 0
    velocity: NDArray[np.float64]  # (2,) m/s
    yaw: float  # ENU radians of the length axis
    color: NDArray[np.float64]
    parts: shapes.Parts
    is_transmitter: bool = False
    is_static: bool = False

    def position(self, t: NDArray[np.float64] | float) -> NDArray[np.float64]:
        """(..., 2) east/north of the centre at drive times t."""
        tt = np.asarray(t, dtype=np.float64)[..., None]
        return self.start + tt * self.velocity


@dataclass
class Drive:
    """One pass of the transmitter car (one `seq_index`): its frames' times and everything around it."""

    seq_index: int  # 1-based
    first_frame: int  # global 0-based frame number of the drive's first frame
    times: NDArray[np.float64]  # seconds since the drive began, one per frame
    stamps: NDArray[np.float64]  # seconds since midnight UTC, one per frame
    tx: Actor
    actors: list[Actor]  # distractors of this drive plus the static ones, Tx excluded
    lighting: Lighting
    lane: int
    speed_mps: float
    escorted: bool = False

    @property
    def n_frames(self) -> int:
        return len(self.times)

    @property
    def frame_indices(self) -> range:
        return range(self.first_frame, self.first_frame + self.n_frames)


@dataclass
class ScenePlan:
    config: SynthConfig
    seed: int
    n_frames: int
    camera: CameraModel
    road: RoadFrame
    drives: list[Drive]
    static_actors: list[Actor] = field(default_factory=list)

    def locate(self, frame: int) -> tuple[Drive, int]:
        """The drive holding a global frame number, and the frame's position within it."""
        for drive in self.drives:
            if drive.first_frame <= frame < drive.first_frame + drive.n_frames:
                return drive, frame - drive.first_frame
        raise IndexError(f"frame {frame} is outside the scene (0..{self.n_frames - 1})")


def make_camera(config: SynthConfig) -> CameraModel:
    s = config.site
    return CameraModel.from_fov(
        s.image_width,
        s.image_height,
        s.hfov_deg,
        s.lat,
        s.lon,
        height_m=s.camera_height_m,
        heading_deg=s.heading_deg,
        pitch_deg=s.camera_pitch_deg,
    )


def lane_centre(config: SynthConfig, lane: int) -> float:
    """Across-road coordinate of a lane's centre; lane 0 is nearest to the basestation."""
    return config.road.distance_m + (lane + 0.5) * config.road.lane_width_m


def lane_direction(config: SynthConfig, lane: int) -> float:
    """Right-hand traffic: the near half of the road flows to the camera's right (+1), the far half left."""
    return 1.0 if lane < config.road.lanes_per_direction else -1.0


class _Ids:
    def __init__(self, start: int = 0) -> None:
        self.next = start

    def __call__(self) -> int:
        self.next += 1
        return self.next - 1


def plan_scene(config: SynthConfig, n_frames: int, seed: int) -> ScenePlan:
    """Everything about the world for `n_frames` frames, drawn from `seed`."""
    if n_frames < 1:
        raise ValueError("n_frames must be at least 1")
    road = RoadFrame(config.site.heading_deg)
    ids = _Ids()
    static = _signs(config, road, seed, ids) + _fixed(config, ids)
    drives: list[Drive] = []
    frame = 0
    clock = config.drive.start_time_s
    seq = 1
    while frame < n_frames:
        drive = _plan_drive(config, road, seed, seq, frame, clock, n_frames - frame, static, ids)
        drives.append(drive)
        frame += drive.n_frames
        gap = stream(seed, Stream.DRIVE, seq, 1).uniform(*config.drive.gap_s)
        clock = float(drive.stamps[-1]) + config.drive.frame_period_s + gap
        seq += 1
    return ScenePlan(config, seed, n_frames, make_camera(config), road, drives, static)


def _plan_drive(
    config: SynthConfig,
    road: RoadFrame,
    seed: int,
    seq: int,
    first_frame: int,
    clock: float,
    frames_left: int,
    static: list[Actor],
    ids: _Ids,
) -> Drive:
    rng = stream(seed, Stream.DRIVE, seq)
    d = config.drive
    lane = int(rng.integers(config.road.n_lanes))
    speed = float(rng.uniform(*d.speed_mps))
    lighting = draw_lighting(rng, config.render.dusk_probability)
    direction = lane_direction(config, lane)
    half = config.road.drive_half_length_m
    n = min(math.floor(2.0 * half / speed / d.frame_period_s) + 1, frames_left)
    jitter = stream(seed, Stream.TIMING, seq).normal(0.0, 1.0, n) * d.timestamp_jitter_s
    # Clipping at 2 sigma <= period/2 keeps time stamps strictly increasing.
    jitter = np.clip(jitter, -2.0 * d.timestamp_jitter_s, 2.0 * d.timestamp_jitter_s)
    times = np.arange(n, dtype=np.float64) * d.frame_period_s + jitter
    times -= min(times[0], 0.0)
    start = road.to_enu(-direction * half, lane_centre(config, lane))
    yaw = road.yaw_along(direction)
    velocity = speed * np.array([math.cos(yaw), math.sin(yaw)])
    tx_color = np.asarray(d.tx_color, dtype=np.float64)
    tx = Actor(
        actor_id=ids(),
        class_name="car",
        length=d.tx_length_m,
        width=d.tx_width_m,
        height=d.tx_height_m,
        start=start,
        velocity=velocity,
        yaw=yaw,
        color=tx_color,
        parts=shapes.car(d.tx_length_m, d.tx_width_m, d.tx_height_m, tx_color, marker=d.tx_marker),
        is_transmitter=True,
    )
    moving, escorted = _traffic(config, road, seed, seq, tx, lane, float(times[-1]), ids)
    return Drive(
        seq_index=seq,
        first_frame=first_frame,
        times=times,
        stamps=clock + times,
        tx=tx,
        actors=moving + static,
        lighting=lighting,
        lane=lane,
        speed_mps=speed,
        escorted=escorted,
    )


@dataclass
class _LaneUser:
    lane: int
    along0: float
    speed: float  # signed, along the road
    length: float


def _clear(users: list[_LaneUser], new: _LaneUser, duration: float, gap: float) -> bool:
    """True when `new` keeps `gap` metres to every user of its lane during the whole drive."""
    for u in users:
        if u.lane != new.lane:
            continue
        need = (u.length + new.length) / 2.0 + gap
        g0 = new.along0 - u.along0
        g1 = g0 + (new.speed - u.speed) * duration
        # Distance is linear in time, so same sign and enough room at both ends means enough throughout.
        if g0 * g1 <= 0 or min(abs(g0), abs(g1)) < need:
            return False
    return True


def _traffic(
    config: SynthConfig,
    road: RoadFrame,
    seed: int,
    seq: int,
    tx: Actor,
    tx_lane: int,
    duration: float,
    ids: _Ids,
) -> tuple[list[Actor], bool]:
    rng = stream(seed, Stream.TRAFFIC, seq)
    t = config.traffic
    half = config.road.drive_half_length_m
    tx_dir = lane_direction(config, tx_lane)
    tx_along0 = float(-tx_dir * half)
    tx_speed = float(np.hypot(*tx.velocity)) * tx_dir
    users = [_LaneUser(tx_lane, tx_along0, tx_speed, tx.length)]
    actors: list[Actor] = []

    # An escort: a large vehicle in a nearer lane of the same direction, level with the Tx for a while.
    escort_draw = rng.random()
    escort_class = ESCORT_CLASSES[0] if rng.random() < ESCORT_TRUCK_SHARE else ESCORT_CLASSES[1]
    rel = rng.uniform(*t.escort_relative_speed) * (1.0 if rng.random() < 0.5 else -1.0)
    meet_along = rng.uniform(-ESCORT_ALIGN_RANGE_M, ESCORT_ALIGN_RANGE_M)
    nearer = tx_lane - 1
    escorted = escort_draw < t.escort_probability and nearer >= 0 and lane_direction(config, nearer) == tx_dir
    if escorted:
        speed = tx_speed * (1.0 + rel)
        meet_t = (meet_along - tx_along0) / tx_speed
        along0 = meet_along - speed * meet_t
        user = _LaneUser(nearer, along0, speed, 0.0)
        actor = _vehicle(config, road, rng, escort_class, user, ids)
        users.append(_LaneUser(nearer, along0, speed, actor.length))
        actors.append(actor)

    counts = {c: int(rng.poisson(t.mean_per_drive.get(c, 0.0))) for c in MOVING_CLASSES}
    for cls in MOVING_CLASSES:
        for _ in range(counts[cls]):
            if cls == "person":
                actors.append(_pedestrian(config, road, rng, ids))
                continue
            actor = _place_in_lane(config, road, rng, cls, users, duration, ids)
            if actor is not None:
                actors.append(actor)
    return actors, escorted


def _place_in_lane(
    config: SynthConfig,
    road: RoadFrame,
    rng: np.random.Generator,
    cls: str,
    users: list[_LaneUser],
    duration: float,
    ids: _Ids,
) -> Actor | None:
    """A vehicle or cyclist in a lane, kept clear of the others in that lane (None if it finds no room)."""
    t = config.traffic
    spec = t.classes[cls]
    n_lanes = config.road.n_lanes
    reach = config.road.drive_half_length_m + t.spawn_margin_m
    length = float(rng.uniform(*spec.length_m))
    for _ in range(PLACEMENT_TRIES):
        # Cyclists keep to the curb lane of either direction.
        curb = 0 if rng.random() < 0.5 else n_lanes - 1
        lane = curb if cls == "bicycle" else int(rng.integers(n_lanes))
        speed = float(rng.uniform(*spec.speed_mps)) * lane_direction(config, lane)
        along0 = float(rng.uniform(-reach, reach))
        user = _LaneUser(lane, along0, speed, length)
        if _clear(users, user, duration, t.min_gap_m):
            users.append(user)
            return _vehicle(config, road, rng, cls, user, ids)
    return None


def _vehicle(
    config: SynthConfig, road: RoadFrame, rng: np.random.Generator, cls: str, user: _LaneUser, ids: _Ids
) -> Actor:
    spec = config.traffic.classes[cls]
    length = user.length if user.length > 0 else float(rng.uniform(*spec.length_m))
    width = float(rng.uniform(*spec.width_m))
    height = float(rng.uniform(*spec.height_m))
    across = lane_centre(config, user.lane)
    if cls == "bicycle":
        w = config.road.lane_width_m
        across += (BICYCLE_CURB_OFFSET_M - w / 2.0) if user.lane == 0 else (w / 2.0 - BICYCLE_CURB_OFFSET_M)
    direction = 1.0 if user.speed >= 0 else -1.0
    if user.speed == 0:
        direction = lane_direction(config, user.lane)
    yaw = road.yaw_along(direction)
    color = VEHICLE_COLORS[rng.integers(len(VEHICLE_COLORS))]
    if cls == "truck":
        parts = shapes.truck(length, width, height, color, CARGO_COLORS[rng.integers(len(CARGO_COLORS))])
    elif cls in ("bicycle", "motorcycle"):
        color = SHIRT_COLORS[rng.integers(len(SHIRT_COLORS))]
        parts = shapes.build(cls, length, width, height, color)
    else:
        parts = shapes.build(cls, length, width, height, color)
    return Actor(
        actor_id=ids(),
        class_name=cls,
        length=length,
        width=width,
        height=height,
        start=road.to_enu(user.along0, across),
        velocity=abs(user.speed) * np.array([math.cos(yaw), math.sin(yaw)]),
        yaw=yaw,
        color=color,
        parts=parts,
    )


def _pedestrian(config: SynthConfig, road: RoadFrame, rng: np.random.Generator, ids: _Ids) -> Actor:
    spec = config.traffic.classes["person"]
    r = config.road
    near = rng.random() < 0.5
    inner = rng.uniform(SIDEWALK_MARGIN_M, r.sidewalk_width_m - SIDEWALK_MARGIN_M)
    across = r.distance_m - inner if near else r.distance_m + r.width_m + inner
    reach = r.drive_half_length_m + config.traffic.spawn_margin_m
    along0 = rng.uniform(-reach, reach)
    direction = 1.0 if rng.random() < 0.5 else -1.0
    speed = float(rng.uniform(*spec.speed_mps))
    length, width, height = (float(rng.uniform(*v)) for v in (spec.length_m, spec.width_m, spec.height_m))
    yaw = road.yaw_along(direction)
    color = SHIRT_COLORS[rng.integers(len(SHIRT_COLORS))]
    return Actor(
        actor_id=ids(),
        class_name="person",
        length=length,
        width=width,
        height=height,
        start=road.to_enu(along0, across),
        velocity=speed * np.array([math.cos(yaw), math.sin(yaw)]),
        yaw=yaw,
        color=color,
        parts=shapes.person(length, width, height, color),
    )


def _signs(config: SynthConfig, road: RoadFrame, seed: int, ids: _Ids) -> list[Actor]:
    rng = stream(seed, Stream.SCENE)
    spec = config.traffic.classes["sign"]
    r = config.road
    out = []
    for _ in range(config.traffic.signs):
        near = rng.random() < 0.5
        across = r.distance_m - r.sign_setback_m if near else r.distance_m + r.width_m + r.sign_setback_m
        along = rng.uniform(-r.drive_half_length_m, r.drive_half_length_m)
        length, width, height = (float(rng.uniform(*v)) for v in (spec.length_m, spec.width_m, spec.height_m))
        color = SIGN_COLORS[rng.integers(len(SIGN_COLORS))].astype(np.float64)
        # The plate faces the road: its thin (length) axis points across the road.
        yaw = math.atan2(road.forward[1], road.forward[0])
        out.append(_static(ids(), "sign", length, width, height, road.to_enu(along, across), yaw, color))
    return out


def _fixed(config: SynthConfig, ids: _Ids) -> list[Actor]:
    return [fixed_actor(config, obj, ids(), i) for i, obj in enumerate(config.fixed_objects)]


def fixed_actor(config: SynthConfig, obj: FixedObject, actor_id: int, ordinal: int = 0) -> Actor:
    """An actor for a hand-placed object; it uses no random numbers, so it shifts no other draw."""
    spec = config.traffic.classes[obj.class_name]
    length = obj.length_m if obj.length_m is not None else sum(spec.length_m) / 2.0
    width = obj.width_m if obj.width_m is not None else sum(spec.width_m) / 2.0
    height = obj.height_m if obj.height_m is not None else sum(spec.height_m) / 2.0
    palette = SIGN_COLORS if obj.class_name == "sign" else VEHICLE_COLORS
    color = np.asarray(obj.color if obj.color is not None else palette[ordinal % len(palette)], np.float64)
    centre = np.array([obj.east_m, obj.north_m], dtype=np.float64)
    return _static(
        actor_id, obj.class_name, length, width, height, centre, compass_to_yaw(obj.yaw_deg), color
    )


def _static(
    actor_id: int,
    cls: str,
    length: float,
    width: float,
    height: float,
    centre: NDArray[np.float64],
    yaw: float,
    color: NDArray[np.float64],
) -> Actor:
    return Actor(
        actor_id=actor_id,
        class_name=cls,
        length=length,
        width=width,
        height=height,
        start=np.asarray(centre, dtype=np.float64),
        velocity=np.zeros(2),
        yaw=yaw,
        color=color,
        parts=shapes.build(cls, length, width, height, color),
        is_static=True,
    )
