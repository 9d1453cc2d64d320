"""Every parameter of the predictor node in one table, and the typed settings built from it.

The table drives the node's parameter declarations (descriptors with ranges and read-only flags),
the validation of run-time changes, and a test that keeps `config/predictor.yaml` in step with the
code. Read-only parameters are the ones whose change needs new subscriptions or publishers
(topic types, QoS); everything else can change while the node runs. No ROS imports here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rssi_ros.ros.fix_validation import Fix, FixLimits
from rssi_ros.ros.sync import SyncConfig
from rssi_ros.ros.tx_selection import MODES, TxSelectionConfig

RELIABILITIES = ("best_effort", "reliable")
BACKENDS = ("auto", "torch", "onnxruntime")
TRANSPORTS = ("raw", "compressed")
DETECTION_TYPES = ("rssi_ros_msgs", "vision_msgs")
MAX_DEPTH = 10_000


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: name, default (its type is the parameter's type), help, constraints."""

    name: str
    default: Any
    description: str
    read_only: bool = False
    range: tuple[float, float] | None = None
    choices: tuple[str, ...] | None = None

    def validate(self, value: Any) -> str | None:
        """Why `value` is not acceptable, or None."""
        kind = type(self.default)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not kind:
            return f"{self.name} must be a {kind.__name__}, got {type(value).__name__}"
        if self.choices is not None and value not in self.choices:
            return f"{self.name} must be one of {', '.join(self.choices)}; got {value!r}"
        if self.range is not None:
            lo, hi = self.range
            if isinstance(value, float) and not math.isfinite(value):
                return f"{self.name} must be finite"
            if not lo <= value <= hi:
                return f"{self.name} must lie in [{lo}, {hi}]; got {value}"
        return None


_S = ParamSpec
PARAMETERS: tuple[ParamSpec, ...] = (
    # Model.
    _S("checkpoint", "", "model checkpoint (.pt) or exported model (.onnx); change at run time to swap"),
    _S("backend", "auto", "inference backend; auto = from the file suffix", choices=BACKENDS),
    _S("device", "cpu", "torch device (cpu, cuda, cuda:1); onnxruntime uses CUDA when given cuda"),
    _S(
        "threads",
        1,
        "CPU threads of inference (torch and onnxruntime intra-op); 0 = the library default (all cores)",
        read_only=True,
        range=(0, 256),
    ),
    _S("autostart", True, "configure and activate the lifecycle node on start-up", read_only=True),
    _S(
        "frame_id",
        "",
        "frame_id of the estimates; empty = the image's (fix-triggered estimates: the last image's)",
    ),
    # Camera.
    _S("camera.enabled", True, "subscribe to the camera; false = estimates triggered by Tx fixes", True),
    _S(
        "camera.transport",
        "raw",
        "raw: Image on camera/image_raw; compressed: CompressedImage on camera/image_raw/compressed",
        read_only=True,
        choices=TRANSPORTS,
    ),
    _S("camera.max_pixels", 16_777_216, "larger images are rejected (corrupt sizes)", range=(1, 1 << 28)),
    _S(
        "camera.timeout_s",
        2.0,
        "no image for this long (arrival time): Tx fixes trigger estimates without image; 0 = never",
        range=(0.0, 3600.0),
    ),
    # Receiver (basestation).
    _S(
        "rx.fixed",
        False,
        "use rx.latitude/longitude instead of the rx/fix topic (static basestation; not both 0)",
    ),
    _S("rx.latitude", 0.0, "fixed receiver latitude, WGS84 degrees", range=(-90.0, 90.0)),
    _S("rx.longitude", 0.0, "fixed receiver longitude, WGS84 degrees", range=(-180.0, 180.0)),
    _S("rx.altitude", 0.0, "fixed receiver altitude, metres (informational)", range=(-1e4, 1e5)),
    # GPS validation.
    _S(
        "gps.max_horizontal_std_m",
        10.0,
        "reject fixes whose reported horizontal standard deviation exceeds this; 0 = no check",
        range=(0.0, 1e6),
    ),
    _S("gps.accept_unknown_status", True, "accept fixes with status STATUS_UNKNOWN (-2, an unset status)"),
    # Detections.
    _S("detections.enabled", True, "subscribe to detections; false = the model never gets boxes", True),
    _S(
        "detections.type",
        "rssi_ros_msgs",
        "message type on `detections`: rssi_ros_msgs/DetectionArray or vision_msgs/Detection2DArray",
        read_only=True,
        choices=DETECTION_TYPES,
    ),
    _S("detections.max_count", 256, "arrays with more detections are rejected", range=(1, 100_000)),
    # Synchronisation (header stamps).
    _S("sync.fix_max_age_s", 0.5, "use a fix at most this much older than the image", range=(0.0, 3600.0)),
    _S("sync.fix_max_lead_s", 0.1, "... or at most this much newer", range=(0.0, 3600.0)),
    _S("sync.detection_tolerance_s", 0.005, "detections match the image within this", range=(0.0, 10.0)),
    _S("sync.max_wait_s", 0.05, "an image may wait this long for its fixes/detections", range=(0.0, 10.0)),
    _S(
        "sync.detector_timeout_s",
        1.0,
        "detections are waited for while one arrived this recently",
        range=(0.0, 3600.0),
    ),
    _S("sync.max_pending", 4, "images waiting at most; the oldest is answered when full", range=(1, 1000)),
    _S("sync.history", 32, "fixes and detection arrays kept per stream for matching", range=(1, 10_000)),
    _S(
        "sync.stamp_max_age_s",
        5.0,
        "reject inputs stamped this much before the node clock (0 = no check; bags need use_sim_time)",
        range=(0.0, 1e9),
    ),
    _S(
        "sync.stamp_max_lead_s",
        1.0,
        "reject inputs stamped this far after the node clock (0 = no check)",
        range=(0.0, 1e9),
    ),
    # Transmitter selection.
    _S("tx_selection.mode", "auto", "auto, flag, class, projection or none", choices=MODES),
    _S("tx_selection.class_name", "", "class of the transmitter's vehicle for mode class (and auto)"),
    _S("tx_selection.camera_yaml", "", "camera model YAML (scenario.yaml or its camera: mapping)"),
    _S("tx_selection.gate_px", 60.0, "max distance projected fix -> box, camera pixels", range=(0.0, 1e5)),
    _S(
        "tx_selection.tx_height_m",
        1.0,
        "height of the projected Tx point above ground",
        range=(-100.0, 1000.0),
    ),
    _S(
        "tx_selection.vehicle_height_m",
        1.6,
        "height of the transmitter's vehicle, for the size check of projection candidates",
        range=(0.1, 10.0),
    ),
    _S(
        "tx_selection.size_tolerance",
        2.0,
        "reject candidates whose box height is off the expected height by more than this factor; 0 = off",
        range=(0.0, 100.0),
    ),
    # QoS (read-only: they shape the subscriptions).
    _S("qos.image.reliability", "best_effort", "camera subscription", read_only=True, choices=RELIABILITIES),
    _S(
        "qos.image.depth",
        2,
        "camera queue: small, so stale frames are dropped",
        read_only=True,
        range=(1, MAX_DEPTH),
    ),
    _S(
        "qos.fix.reliability", "best_effort", "rx/tx fix subscriptions", read_only=True, choices=RELIABILITIES
    ),
    _S("qos.fix.depth", 10, "rx/tx fix queue", read_only=True, range=(1, MAX_DEPTH)),
    _S("qos.detections.reliability", "best_effort", "detections", read_only=True, choices=RELIABILITIES),
    _S("qos.detections.depth", 10, "detections queue", read_only=True, range=(1, MAX_DEPTH)),
    _S("qos.estimate.reliability", "reliable", "~/estimate publisher", read_only=True, choices=RELIABILITIES),
    _S("qos.estimate.depth", 10, "~/estimate queue", read_only=True, range=(1, MAX_DEPTH)),
    # Outputs.
    _S("debug_image.enabled", False, "publish ~/debug_image (boxes, Tx marker, PL/SH/RSSI text)", True),
    _S("debug_image.width", 480, "width of the debug image (aspect kept)", range=(32, 4096)),
    _S("diagnostics.period_s", 1.0, "period of /diagnostics", read_only=True, range=(0.05, 60.0)),
)
SPECS: dict[str, ParamSpec] = {p.name: p for p in PARAMETERS}


@dataclass(frozen=True)
class Settings:
    """The typed view of the parameters that the pure pieces use."""

    sync: SyncConfig
    fix_limits: FixLimits
    tx_selection: TxSelectionConfig
    camera_yaml: str
    fixed_rx: Fix | None
    stamp_max_age_s: float
    stamp_max_lead_s: float
    max_pixels: int
    max_detections: int
    camera_timeout_s: float
    frame_id: str

    @classmethod
    def from_values(cls, v: dict[str, Any]) -> Settings:
        """Build from parameter values (all of SPECS); ValueError with a message on bad combinations."""
        for name, value in v.items():
            spec = SPECS.get(name)
            problem = spec.validate(value) if spec else None
            if problem:
                raise ValueError(problem)
        sync = SyncConfig(
            fix_max_age_s=float(v["sync.fix_max_age_s"]),
            fix_max_lead_s=float(v["sync.fix_max_lead_s"]),
            detection_tolerance_s=float(v["sync.detection_tolerance_s"]),
            max_wait_s=float(v["sync.max_wait_s"]),
            detector_timeout_s=float(v["sync.detector_timeout_s"]),
            max_pending=int(v["sync.max_pending"]),
            history=int(v["sync.history"]),
        )
        tx = TxSelectionConfig(
            mode=str(v["tx_selection.mode"]),
            class_name=str(v["tx_selection.class_name"]),
            gate_px=float(v["tx_selection.gate_px"]),
            tx_height_m=float(v["tx_selection.tx_height_m"]),
            vehicle_height_m=float(v["tx_selection.vehicle_height_m"]),
            size_tolerance=float(v["tx_selection.size_tolerance"]),
        )
        if tx.mode == "projection" and not v["tx_selection.camera_yaml"]:
            raise ValueError("tx_selection.mode projection needs tx_selection.camera_yaml")
        fixed = None
        if v["rx.fixed"] and float(v["rx.latitude"]) == 0.0 and float(v["rx.longitude"]) == 0.0:
            # 0/0 is the parameters' default (the Gulf of Guinea), never a basestation someone meant.
            raise ValueError(
                "rx.fixed is true but rx.latitude and rx.longitude are both 0: "
                "set rx.latitude/rx.longitude to the basestation's position"
            )
        if v["rx.fixed"]:
            fixed = Fix(float(v["rx.latitude"]), float(v["rx.longitude"]), float(v["rx.altitude"]), 0)
        return cls(
            sync=sync,
            fix_limits=FixLimits(
                max_horizontal_std_m=float(v["gps.max_horizontal_std_m"]),
                accept_unknown_status=bool(v["gps.accept_unknown_status"]),
            ),
            tx_selection=tx,
            camera_yaml=str(v["tx_selection.camera_yaml"]),
            fixed_rx=fixed,
            stamp_max_age_s=float(v["sync.stamp_max_age_s"]),
            stamp_max_lead_s=float(v["sync.stamp_max_lead_s"]),
            max_pixels=int(v["camera.max_pixels"]),
            max_detections=int(v["detections.max_count"]),
            camera_timeout_s=float(v["camera.timeout_s"]),
            frame_id=str(v["frame_id"]),
        )


def as_declared_type(name: str, value: Any) -> Any:
    """`value` as the parameter's own type where that loses nothing: 33 for a float parameter is 33.0.

    ROS parses `-p rx.latitude:=33` (and `latitude: 33` in a YAML file) as an integer, and rclpy
    refuses an integer for a parameter declared as double; whole numbers are what people write.
    Everything else is returned unchanged (and judged by `ParamSpec.validate`).
    """
    spec = SPECS.get(name)
    if spec is not None and type(spec.default) is float and type(value) is int:
        return float(value)
    return value


def defaults() -> dict[str, Any]:
    return {p.name: p.default for p in PARAMETERS}
