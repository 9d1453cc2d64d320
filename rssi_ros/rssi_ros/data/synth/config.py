"""Every setting of the synthetic scene generator, as dataclasses with defaults, loadable from YAML.

The dataclass defaults are the reference; `rssi_ros/config/synth.yaml` ships the same values so a
user can copy and edit it. Loading checks every key (a typo is an error naming the key, not a
silently ignored setting) and `key.path=value` overrides work like timm's command-line overrides.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rssi_ros.data.classes import COCO_IDS
from rssi_ros.settings import apply_overrides, deep_merge

# Classes the generator can place; each has a blockage loss, a size range and a COCO id.
ACTOR_CLASSES: tuple[str, ...] = ("car", "truck", "bus", "motorcycle", "bicycle", "person", "sign")
MOVING_CLASSES: tuple[str, ...] = ("car", "truck", "bus", "motorcycle", "bicycle", "person")

# Scenario 1 of DeepSense 6G: the basestation's WGS84 position (see shared/data/deepsense/README.md).
SCENARIO1_BASESTATION = (33.42035, -111.92915)
# The road of scenario 1 runs north-south east of the basestation, so the camera looks east.
SCENARIO1_HEADING_DEG = 90.0
SECONDS_PER_HOUR = 3600.0


def _pair(lo: float, hi: float) -> list[float]:
    return [float(lo), float(hi)]


@dataclass
class SiteConfig:
    """Where the basestation stands and how its camera looks at the road."""

    lat: float = SCENARIO1_BASESTATION[0]
    lon: float = SCENARIO1_BASESTATION[1]
    heading_deg: float = SCENARIO1_HEADING_DEG  # compass direction of camera axis and array boresight
    camera_height_m: float = 3.0  # camera on top of the mast, above the array
    camera_pitch_deg: float = 6.0  # positive looks down
    hfov_deg: float = 90.0
    image_width: int = 960
    image_height: int = 540

    def __post_init__(self) -> None:
        if not (-90.0 <= self.lat <= 90.0 and -180.0 <= self.lon <= 180.0):
            raise ValueError(f"site lat/lon out of range: {self.lat}, {self.lon}")
        if not 10.0 <= self.hfov_deg <= 170.0:
            raise ValueError("site.hfov_deg must lie in [10, 170]")
        if self.image_width < 16 or self.image_height < 16:
            raise ValueError("site.image_width/image_height must be at least 16 pixels")
        _positive(self, "camera_height_m")


@dataclass
class RoadConfig:
    """A straight road across the camera's view (perpendicular to the heading)."""

    distance_m: float = 12.0  # from the basestation to the near road edge, along the heading
    lanes_per_direction: int = 2
    lane_width_m: float = 3.5
    sidewalk_width_m: float = 3.0
    drive_half_length_m: float = 30.0  # drives run from -L to +L along the road (0 = in front)
    render_half_length_m: float = 200.0  # how far the drawn road extends each way
    building_setback_m: float = 5.0  # gap between the far sidewalk and the building row
    sign_setback_m: float = 0.6  # signs stand this far from the curb on the sidewalks

    def __post_init__(self) -> None:
        for name in ("distance_m", "lane_width_m", "sidewalk_width_m", "drive_half_length_m"):
            _positive(self, name)
        if self.lanes_per_direction < 1:
            raise ValueError("road.lanes_per_direction must be at least 1")
        if self.render_half_length_m < self.drive_half_length_m:
            raise ValueError("road.render_half_length_m must cover road.drive_half_length_m")

    @property
    def n_lanes(self) -> int:
        return 2 * self.lanes_per_direction

    @property
    def width_m(self) -> float:
        return self.n_lanes * self.lane_width_m


@dataclass
class DriveConfig:
    """The transmitter car and the timing of its drives (one drive = one `seq_index`)."""

    frame_period_s: float = 0.1  # ~10 frames/s, as DeepSense records
    timestamp_jitter_s: float = 0.004  # std of the time-stamp jitter around the period
    speed_mps: list[float] = field(default_factory=lambda: _pair(4.0, 12.0))  # uniform range
    gap_s: list[float] = field(default_factory=lambda: _pair(8.0, 40.0))  # pause between drives
    start_time_s: float = 16.0 * SECONDS_PER_HOUR  # time of day of the first frame (UTC)
    tx_length_m: float = 4.6
    tx_width_m: float = 1.85
    tx_height_m: float = 1.45
    tx_antenna_height_m: float = 1.55  # antenna (and GPS) on the roof
    tx_color: list[int] = field(default_factory=lambda: [255, 110, 0])  # RGB; reserved for the Tx
    tx_marker: bool = True  # draw the roof antenna unit in a marker colour

    def __post_init__(self) -> None:
        for name in ("frame_period_s", "tx_length_m", "tx_width_m", "tx_height_m", "tx_antenna_height_m"):
            _positive(self, name)
        _range(self.speed_mps, "drive.speed_mps", minimum=1e-3)
        _range(self.gap_s, "drive.gap_s", minimum=0.0)
        if self.timestamp_jitter_s < 0 or self.timestamp_jitter_s > 0.25 * self.frame_period_s:
            raise ValueError("drive.timestamp_jitter_s must lie in [0, frame_period_s / 4]")
        _color(self.tx_color, "drive.tx_color")


@dataclass
class ClassSpec:
    """Size and speed ranges of one class of distractor (uniform between the two values)."""

    length_m: list[float]
    width_m: list[float]
    height_m: list[float]
    speed_mps: list[float]

    def __post_init__(self) -> None:
        for name in ("length_m", "width_m", "height_m"):
            _range(getattr(self, name), name, minimum=1e-3)
        _range(self.speed_mps, "speed_mps", minimum=0.0)


def _default_classes() -> dict[str, ClassSpec]:
    return {
        "car": ClassSpec(_pair(4.0, 5.0), _pair(1.75, 1.95), _pair(1.4, 1.8), _pair(5.0, 13.0)),
        "truck": ClassSpec(_pair(6.5, 10.0), _pair(2.3, 2.5), _pair(3.0, 3.8), _pair(4.0, 11.0)),
        "bus": ClassSpec(_pair(11.0, 12.5), _pair(2.5, 2.6), _pair(3.0, 3.3), _pair(4.0, 10.0)),
        "motorcycle": ClassSpec(_pair(1.9, 2.2), _pair(0.7, 0.8), _pair(1.4, 1.6), _pair(5.0, 14.0)),
        "bicycle": ClassSpec(_pair(1.7, 1.8), _pair(0.5, 0.6), _pair(1.6, 1.8), _pair(2.5, 6.0)),
        "person": ClassSpec(_pair(0.35, 0.5), _pair(0.45, 0.6), _pair(1.55, 1.9), _pair(0.0, 1.8)),
        "sign": ClassSpec(_pair(0.08, 0.08), _pair(0.6, 0.9), _pair(2.5, 3.0), _pair(0.0, 0.0)),
    }


@dataclass
class TrafficConfig:
    """Distractors: how many of each class per drive (Poisson means), their sizes and speeds."""

    mean_per_drive: dict[str, float] = field(
        default_factory=lambda: {
            "car": 4.0,
            "truck": 0.8,
            "bus": 0.3,
            "motorcycle": 0.3,
            "bicycle": 0.8,
            "person": 5.0,
        }
    )
    signs: int = 5  # static road signs on the sidewalks, per scene
    escort_probability: float = 0.3  # a truck/bus in a nearer lane, same direction, overtaking the Tx
    escort_relative_speed: list[float] = field(default_factory=lambda: _pair(0.25, 0.6))  # |dv| / v_tx
    min_gap_m: float = 6.0  # bumper-to-bumper spacing of vehicles in one lane
    spawn_margin_m: float = 20.0  # distractors start up to this far beyond the drive's ends
    classes: dict[str, ClassSpec] = field(default_factory=_default_classes)

    def __post_init__(self) -> None:
        for name, mean in self.mean_per_drive.items():
            if name not in MOVING_CLASSES:
                raise ValueError(f"traffic.mean_per_drive: unknown class {name!r} (use {MOVING_CLASSES})")
            if not (math.isfinite(mean) and mean >= 0):
                raise ValueError(f"traffic.mean_per_drive.{name} must be a non-negative number")
        missing = [c for c in ACTOR_CLASSES if c not in self.classes]
        if missing:
            raise ValueError(f"traffic.classes lacks {missing}")
        if self.signs < 0:
            raise ValueError("traffic.signs must be non-negative")
        if not 0.0 <= self.escort_probability <= 1.0:
            raise ValueError("traffic.escort_probability must lie in [0, 1]")
        _range(self.escort_relative_speed, "traffic.escort_relative_speed", minimum=0.0)
        if self.escort_relative_speed[1] >= 1.0:
            raise ValueError("traffic.escort_relative_speed must stay below 1 (the escort keeps moving)")
        _positive(self, "min_gap_m")


def _default_blockage() -> dict[str, float]:
    # 60 GHz blockage by a body that covers the whole first Fresnel zone (dB); published
    # measurements put a human body at 10-20 dB and vehicles at 10-30 dB depending on size.
    return {
        "car": 12.0,
        "truck": 22.0,
        "bus": 24.0,
        "motorcycle": 8.0,
        "bicycle": 7.0,
        "person": 12.0,
        "sign": 6.0,
    }


@dataclass
class RadioConfig:
    """The 60 GHz link: path loss, blockage, shadowing, noise, and the 64-beam receive array."""

    frequency_ghz: float = 60.0
    path_loss_exponent: float = 2.0  # the scene's TRUE exponent (written to scenario.yaml)
    reference_power_db: float = 10.0  # mean beam power at 1 m, dB of the files' linear unit
    min_distance_m: float = 1.0
    rx_height_m: float = 1.5  # receive array height on the basestation mast
    num_beams: int = 64
    num_elements: int = 16  # uniform linear array, half-wavelength spacing
    beam_span_deg: float = 120.0  # beam steering angles cover +-span/2 around the heading
    noise_floor_db: float | None = -30.0  # per beam, same unit; null switches it off
    measurement_noise_db: float = 1.0  # std of i.i.d. log-normal noise per beam and frame
    drive_offset_std_db: float = 0.3  # per-drive offset (Tx power/orientation), unseen by inputs
    shadowing_std_db: float = 1.5  # spatially correlated log-normal shadowing over Tx position
    shadowing_correlation_m: float = 4.0
    shadowing_components: int = 64  # random Fourier features of the shadowing field
    blockage_loss_db: dict[str, float] = field(default_factory=_default_blockage)
    max_blockage_db: float = 40.0  # cap on the sum over blockers
    fresnel_samples: int = 32  # rays through the first Fresnel zone that measure "how much" is cut

    def __post_init__(self) -> None:
        for name in ("frequency_ghz", "path_loss_exponent", "min_distance_m", "rx_height_m"):
            _positive(self, name)
        for name in ("measurement_noise_db", "drive_offset_std_db", "shadowing_std_db", "max_blockage_db"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"radio.{name} must be non-negative")
        _positive(self, "shadowing_correlation_m")
        if self.num_beams < 1 or self.num_elements < 1 or self.shadowing_components < 1:
            raise ValueError("radio.num_beams, num_elements and shadowing_components must be >= 1")
        if self.fresnel_samples < 1:
            raise ValueError("radio.fresnel_samples must be >= 1")
        if not 0.0 < self.beam_span_deg < 180.0:
            raise ValueError("radio.beam_span_deg must lie in (0, 180)")
        missing = [c for c in ACTOR_CLASSES if c not in self.blockage_loss_db]
        if missing:
            raise ValueError(f"radio.blockage_loss_db lacks {missing}")
        if any(not (math.isfinite(v) and v >= 0) for v in self.blockage_loss_db.values()):
            raise ValueError("radio.blockage_loss_db values must be non-negative")
        if self.noise_floor_db is not None and not math.isfinite(self.noise_floor_db):
            raise ValueError("radio.noise_floor_db must be finite or null")

    @property
    def wavelength_m(self) -> float:
        return 299_792_458.0 / (self.frequency_ghz * 1e9)


@dataclass
class GpsConfig:
    """Error of the transmitter's GPS in `unit2_loc` (the exact position goes to `unit2_loc_cal`)."""

    noise_std_m: float = 0.5  # per axis (east, north)
    correlation_s: float = 1.0  # first-order Gauss-Markov correlation time

    def __post_init__(self) -> None:
        if not self.noise_std_m >= 0:
            raise ValueError("gps.noise_std_m must be non-negative")
        _positive(self, "correlation_s")


def _default_class_ids() -> dict[str, int]:
    return {"person": 0, "bicycle": 1, "car": 2, "motorcycle": 3, "bus": 5, "truck": 7, "sign": 11}


@dataclass
class RenderConfig:
    """Images and YOLO labels."""

    jpeg_quality: int = 90
    dusk_probability: float = 0.3  # share of drives lit at dusk (low sun, headlights)
    image_noise_std: float = 2.0  # sensor grain, grey levels
    near_clip_m: float = 0.3
    min_visible_fraction: float = 0.1  # label an object when at least this share of it shows
    min_visible_px: int = 12
    min_box_px: float = 3.0  # boxes thinner or shorter than this (pixels) are not labelled
    class_ids: dict[str, int] = field(default_factory=_default_class_ids)  # COCO ids in label files

    def __post_init__(self) -> None:
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError("render.jpeg_quality must lie in [1, 100]")
        if not 0.0 <= self.dusk_probability <= 1.0:
            raise ValueError("render.dusk_probability must lie in [0, 1]")
        if not 0.0 <= self.min_visible_fraction <= 1.0:
            raise ValueError("render.min_visible_fraction must lie in [0, 1]")
        if self.image_noise_std < 0:
            raise ValueError("render.image_noise_std must be non-negative")
        _positive(self, "near_clip_m")
        for name in ACTOR_CLASSES:
            cid = self.class_ids.get(name)
            if cid is None or COCO_IDS.get(int(cid)) != name:
                raise ValueError(
                    f"render.class_ids.{name} must be a COCO id that ClassVocabulary maps to {name!r}"
                )


@dataclass
class FixedObject:
    """A static object placed by hand (basestation-local metres), e.g. a known blocker in a test."""

    class_name: str
    east_m: float
    north_m: float
    yaw_deg: float = 0.0  # direction of the object's length axis, compass degrees
    length_m: float | None = None  # None: the middle of the class's size range
    width_m: float | None = None
    height_m: float | None = None
    color: list[int] | None = None

    def __post_init__(self) -> None:
        if self.class_name not in ACTOR_CLASSES:
            raise ValueError(f"fixed_objects: unknown class {self.class_name!r} (use {ACTOR_CLASSES})")
        if self.color is not None:
            _color(self.color, "fixed_objects.color")


@dataclass
class SynthConfig:
    """All settings of one generated scenario."""

    name: str = "scenario100"  # CSV name; above the real 1-9 so keys never collide with real data
    site: SiteConfig = field(default_factory=SiteConfig)
    road: RoadConfig = field(default_factory=RoadConfig)
    drive: DriveConfig = field(default_factory=DriveConfig)
    traffic: TrafficConfig = field(default_factory=TrafficConfig)
    radio: RadioConfig = field(default_factory=RadioConfig)
    gps: GpsConfig = field(default_factory=GpsConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    fixed_objects: list[FixedObject] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not (self.name.startswith("scenario") and self.name[len("scenario") :].isdigit()):
            raise ValueError(f"name must look like scenarioN (the official layout), got {self.name!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SynthConfig:
        return _build(cls, d, "")

    def with_overrides(self, overrides: Iterable[str]) -> SynthConfig:
        """Apply `a.b.c=value` strings (value parsed as YAML) and validate again."""
        return SynthConfig.from_dict(apply_overrides(self.to_dict(), overrides))


def load_config(path: str | Path | None = None, overrides: Iterable[str] = ()) -> SynthConfig:
    """Defaults, updated by a YAML file (any subset of the settings), then by overrides."""
    config = SynthConfig()
    if path is not None:
        try:
            with open(path, encoding="utf-8") as f:
                doc = yaml.safe_load(f) or {}
        except yaml.YAMLError as exc:  # the parser's message says the line and column
            raise ValueError(f"{path}: not valid YAML: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: not UTF-8 text: {exc}") from exc
        if not isinstance(doc, dict):
            raise ValueError(f"{path}: expected a mapping of settings")
        settings = doc.get("synth", doc)
        if not isinstance(settings, dict):
            raise ValueError(f"{path}: `synth` must be a mapping of settings, got {settings!r}")
        try:
            config = SynthConfig.from_dict(deep_merge(config.to_dict(), settings))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc
    return config.with_overrides(overrides)


def _build(tp: Any, value: Any, where: str) -> Any:
    """Turn plain YAML data into the annotated type, naming the offending key on any mismatch."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise ValueError(f"{where or 'settings'}: expected a mapping, got {value!r}")
        hints = typing.get_type_hints(tp)
        names = {f.name for f in dataclasses.fields(tp)}
        unknown = sorted(set(value) - names)
        if unknown:
            raise ValueError(f"{where or 'settings'}: unknown setting(s) {unknown}")
        kwargs = {k: _build(hints[k], v, f"{where}.{k}".lstrip(".")) for k, v in value.items()}
        try:
            return tp(**kwargs)
        except TypeError as exc:
            raise ValueError(f"{where or 'settings'}: {exc}") from exc
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _build(inner[0], value, where)
    if origin is dict:
        key_t, val_t = typing.get_args(tp)
        if not isinstance(value, Mapping):
            raise ValueError(f"{where}: expected a mapping, got {value!r}")
        return {_build(key_t, k, where): _build(val_t, v, f"{where}.{k}") for k, v in value.items()}
    if origin is list:
        (item_t,) = typing.get_args(tp)
        if not isinstance(value, list | tuple):
            raise ValueError(f"{where}: expected a list, got {value!r}")
        return [_build(item_t, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if tp is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{where}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            raise ValueError(f"{where}: expected an integer, got {value!r}")
        return int(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ValueError(f"{where}: expected text, got {value!r}")
        return value
    return value


def _positive(obj: object, name: str) -> None:
    v = getattr(obj, name)
    if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
        raise ValueError(f"{type(obj).__name__}.{name} must be positive, got {v!r}")


def _range(values: list[float], name: str, minimum: float) -> None:
    if len(values) != 2 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"{name} must be a [low, high] pair of numbers")
    if values[0] < minimum or values[1] < values[0]:
        raise ValueError(f"{name} must satisfy {minimum} <= low <= high, got {values}")


def _color(values: list[int], name: str) -> None:
    if len(values) != 3 or not all(0 <= int(v) <= 255 for v in values):
        raise ValueError(f"{name} must be three integers in [0, 255]")
