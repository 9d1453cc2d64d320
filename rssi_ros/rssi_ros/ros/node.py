"""The `rssi_predictor` lifecycle node: declares parameters, wires topics, delegates everything else.

    camera/image_raw (Image) | camera/image_raw/compressed (CompressedImage)   -> ~/estimate (RssiEstimate)
    rx/fix, tx/fix (NavSatFix)                                                 -> /diagnostics
    detections (rssi_ros_msgs/DetectionArray | vision_msgs/Detection2DArray)  -> ~/debug_image (optional)

Lifecycle: configure loads the model and builds the pure pieces (sync policy, transmitter
selector, frame processor); activate creates the subscriptions; deactivate removes them and
answers waiting images; cleanup releases the model. With `autostart` (default) the node configures
and activates itself. /diagnostics is published in every state, so a node without a model says so.

Each image is answered once, by an estimate or a counted skip (see `reasons`). Work happens in the
subscription callbacks of one single-threaded executor: no locks, and with the small camera queue
a slow model drops stale frames instead of building up latency. Every callback runs inside a guard
(`_guarded`): an exception nobody anticipated is logged (its traceback once), counted as
`internal_errors.<callback>` and the message as skipped/rejected `internal_error`, and the node
carries on; an escaping exception would end `spin` and with it the node.

Timers (diagnostics, the poll of waiting images) run on the steady clock, not the node's ROS clock:
with `use_sim_time` and no /clock (a bag paused or finished) they would otherwise stop.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rcl_interfaces.srv import SetParameters
from rclpy.clock import Clock, ClockType
from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.exceptions import (
    InvalidParameterTypeException,
    InvalidParameterValueException,
    ParameterNotDeclaredException,
)
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_system_default
from sensor_msgs.msg import CompressedImage, Image, NavSatFix

from rssi_ros.data.camera import CameraModel
from rssi_ros.data.classes import ClassVocabulary
from rssi_ros.data.sample import Box, Sample
from rssi_ros.ros import debug_image, reasons
from rssi_ros.ros.cdr_image import parse_compressed_image, parse_image
from rssi_ros.ros.config import PARAMETERS, SPECS, ParamSpec, Settings, as_declared_type
from rssi_ros.ros.detection_conversion import from_detection2d_array, from_detection_array
from rssi_ros.ros.diagnostics import ANSWERED_STREAMS, INTERNAL_ERRORS, DiagnosticsAggregator
from rssi_ros.ros.fix_validation import Fix, check_fix, stamp_ns
from rssi_ros.ros.frame_processor import FrameProcessor
from rssi_ros.ros.image_conversion import compressed_to_rgb, image_to_rgb
from rssi_ros.ros.messages import diagnostics_msg, estimate_msg, rgb_image_msg
from rssi_ros.ros.qos import profile
from rssi_ros.ros.reasons import InputError
from rssi_ros.ros.sync import Frame, SyncPolicy, check_stamp
from rssi_ros.ros.tx_selection import TxSelector
from rssi_ros_msgs.msg import DetectionArray, RssiEstimate

NODE_NAME = "rssi_predictor"
IMAGE_TOPIC = "camera/image_raw"
COMPRESSED_TOPIC = "camera/image_raw/compressed"
RX_TOPIC, TX_TOPIC, DETECTIONS_TOPIC = "rx/fix", "tx/fix", "detections"
ESTIMATE_TOPIC, DEBUG_TOPIC, DIAGNOSTICS_TOPIC = "~/estimate", "~/debug_image", "/diagnostics"
MODEL_PARAMETERS = ("checkpoint", "backend", "device")
VISION_MSGS_MODULE = "vision_msgs.msg"
FASTDDS_PROFILE_ENV = "FASTRTPS_DEFAULT_PROFILES_FILE"
ORT_THREADS_ENV = "RSSI_ROS_ORT_THREADS"
SIM_TIME_HINT = " (replaying a bag? start the node with use_sim_time:=true and publish /clock)"
WARMUP_SAMPLE = Sample(
    rx_lat=33.42,
    rx_lon=-111.93,
    tx_lat=33.4202,
    tx_lon=-111.9298,
    image=np.zeros((540, 960, 3), np.uint8),
    boxes=[Box("car", 0.5, 0.5, 0.1, 0.1, 1.0, True)],
)
# How often a repeated warning (same reason) may be logged.
WARN_THROTTLE_S = 5.0
# Polling period of images waiting for their inputs, as a fraction of sync.max_wait_s.
WAIT_POLL_FRACTION = 0.25
MIN_WAIT_POLL_S = 0.002


class ParameterError(ValueError):
    """A start-up parameter value that cannot be declared; the text is one line naming the parameter."""


@dataclass
class Capture:
    """What the sync policy carries for one image (or fix trigger): RGB (or None), frame id, source."""

    rgb: Any
    frame_id: str
    source: str  # "images" or "fix_triggers": the diagnostics stream that counts it


@dataclass(frozen=True)
class DetectionInput:
    """The detections subscription chosen at configure: message type, callback, name for logs."""

    msg_type: Any
    callback: Callable[[Any], None]
    label: str


def _model_key(values: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(values[k] for k in MODEL_PARAMETERS)


def _as_declared(param: Parameter) -> Parameter:
    """`param` with a whole number for a float parameter turned into a float (see `as_declared_type`)."""
    value = as_declared_type(param.name, param.value)
    return param if type(value) is type(param.value) else Parameter(param.name, value=value)


def _startup_problem(spec: ParamSpec, given: Parameter | None, exc: Exception) -> str:
    """One line for a start-up value rclpy refused to declare."""
    if given is None:
        return f"parameter {spec.name}: {exc}"
    value = given.value
    problem = spec.validate(value) or str(exc)
    if type(spec.default) is float and type(value) is int:
        problem += f" (write {value}.0)"
    return f"parameter {spec.name}: {problem}"


def _descriptor(spec: ParamSpec) -> ParameterDescriptor:
    text = spec.description
    if spec.choices:
        text += f" (one of: {', '.join(spec.choices)})"
    d = ParameterDescriptor(description=text, read_only=spec.read_only)
    if spec.range is not None:
        lo, hi = spec.range
        if isinstance(spec.default, float):
            d.floating_point_range = [FloatingPointRange(from_value=float(lo), to_value=float(hi), step=0.0)]
        elif isinstance(spec.default, int) and not isinstance(spec.default, bool):
            d.integer_range = [IntegerRange(from_value=int(lo), to_value=int(hi), step=1)]
    return d


class PredictorNode(LifecycleNode):
    """See the module docstring. Construct, then spin; `autostart` brings it to active."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(NODE_NAME, **kwargs)
        self._steady_clock = Clock(clock_type=ClockType.STEADY_TIME)
        self._declare_parameters()
        self.diag = DiagnosticsAggregator()
        self.predictor: Any = None
        self.settings: Settings | None = None
        self.policy: SyncPolicy | None = None
        self.processor: FrameProcessor | None = None
        self.selector: TxSelector | None = None
        self._subscriptions_: list[Any] = []
        self._rx_sub: Any = None
        self._detection_input: DetectionInput | None = None
        self._estimate_pub: Any = None
        self._debug_pub: Any = None
        self._wait_timer: Any = None
        self._last_warn: dict[str, float] = {}
        self._tracebacks: set[tuple[str, str]] = set()  # (callback, exception type) already logged in full
        self._unsettled: str | None = None  # stream of the message received but not yet accounted for
        self._last_image_arrival = time.monotonic()
        self._camera_frame_id = ""  # of the last usable image: the frame of fix-triggered estimates
        self._active = False
        self._camera_enabled = True
        self._state = "unconfigured"
        # While `_set_together` runs: the acceptable values of the whole call; else None.
        self._together: dict[str, Any] | None = None
        self._together_dirty = False
        self._staged_model: tuple[tuple[Any, ...], Any] | None = None
        self.diag.info["lifecycle.state"] = self._state
        self.add_pre_set_parameters_callback(self._coerce_parameters)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self._route_parameter_service()
        self._diag_pub = self.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, qos_profile_system_default)
        self._diag_timer = self.create_timer(
            float(self._p("diagnostics.period_s")),
            self._guarded("diagnostics", self._publish_diagnostics),
            clock=self._steady_clock,
        )
        if self._p("autostart"):
            self.trigger_configure()
            if self._state == "inactive":
                self.trigger_activate()

    # -- parameters -----------------------------------------------------------------------------
    def _p(self, name: str) -> Any:
        return self.get_parameter(name).value

    def _values(self, changes: dict[str, Any] | None = None) -> dict[str, Any]:
        values = {spec.name: self._p(spec.name) for spec in PARAMETERS}
        values.update(changes or {})
        return values

    def _declare_parameters(self) -> None:
        """Declare the table's parameters; whole numbers given for float parameters become floats.

        rclpy keeps the start-up values (-p, --params-file, launch) in `Node._parameter_overrides`
        (no public accessor in Jazzy) and refuses an integer there for a parameter declared as
        double (InvalidParameterTypeException): `-p rx.latitude:=33` would kill the node. Such
        values are converted in place before declaring; any other value rclpy refuses raises
        `ParameterError`, one line naming the parameter (predictor_main prints it and exits).
        """
        overrides = getattr(self, "_parameter_overrides", None)
        overrides = overrides if isinstance(overrides, dict) else {}
        for spec in PARAMETERS:
            given = overrides.get(spec.name)
            if isinstance(given, Parameter):
                overrides[spec.name] = _as_declared(given)
            try:
                self.declare_parameter(spec.name, spec.default, _descriptor(spec))
            except (InvalidParameterTypeException, InvalidParameterValueException) as exc:
                raise ParameterError(_startup_problem(spec, overrides.get(spec.name), exc)) from exc

    @staticmethod
    def _coerce_parameters(params: list[Parameter]) -> list[Parameter]:
        """Pre-set callback: `ros2 param set ... sync.max_wait_s 1` means 1.0 (rclpy checks types after)."""
        return [_as_declared(p) for p in params]

    def set_parameters(self, parameter_list: list[Parameter]) -> list[SetParametersResult]:
        """rclpy's non-atomic set, but the parameters of one call are judged together (`_set_together`)."""
        base = super().set_parameters
        return self._set_together(parameter_list, lambda p: base([p])[0])

    def _route_parameter_service(self) -> None:
        """Send ~/set_parameters requests (ros2 param set/load, parameter clients) through `_set_together`.

        rclpy's own handler sets a request's parameters one by one, each without sight of the
        others, so `ros2 param load` of a file with `tx_selection.mode: projection` listed before
        `tx_selection.camera_yaml` would refuse the mode. The handler is swapped for one that
        keeps rclpy's per-parameter results but judges the request as a whole.
        """
        for srv in self.services:
            if srv.srv_type is SetParameters and srv.srv_name.endswith("/set_parameters"):
                srv.callback = self._on_set_parameters_request

    def _on_set_parameters_request(self, request: Any, response: Any) -> Any:
        def one(param: Parameter) -> SetParametersResult:
            try:
                return self.set_parameters_atomically([param])
            except ParameterNotDeclaredException as exc:
                return SetParametersResult(successful=False, reason=str(exc))

        params = [Parameter.from_parameter_msg(m) for m in request.parameters]
        response.results = self._set_together(params, one)
        return response

    def _acceptable(self, param: Parameter) -> bool:
        spec = SPECS.get(param.name)
        return spec is not None and not spec.read_only and spec.validate(param.value) is None

    def _set_together(
        self, params: list[Parameter], set_one: Callable[[Parameter], SetParametersResult]
    ) -> list[SetParametersResult]:
        """Set `params` one by one (rclpy's non-atomic semantics), each judged with the whole call.

        A combination such as tx_selection.mode=projection + tx_selection.camera_yaml is valid
        only as a whole. While the call runs, the on-set callback validates "current values + every
        acceptable parameter of the call" (acceptable: declared here, writable, of the right type
        and range, so rclpy will not refuse it) and defers applying; afterwards the resulting
        values are applied once.
        """
        if self._together is not None:
            return [set_one(p) for p in params]
        coerced = [_as_declared(p) for p in params]
        self._together = {p.name: p.value for p in coerced if self._acceptable(p)}
        try:
            return [set_one(p) for p in params]
        finally:
            self._together = None
            if self._together_dirty:
                self._together_dirty = False
                self._apply_current()
            self._staged_model = None

    def _apply_current(self) -> None:
        """Apply the current parameter values (the end of `_set_together`).

        They were validated as a whole before any was accepted, so this fails only if something
        changed meanwhile (a camera YAML deleted); then the previous configuration stays and
        /diagnostics reports ERROR until a later change applies.
        """
        values = self._values()
        try:
            settings = Settings.from_values(values)
            camera = self._load_camera(settings)
        except (ValueError, OSError) as exc:
            problem = f"parameters set but not applied, the previous configuration runs: {exc}"
            self.get_logger().error(problem)
            self.diag.problems["parameters"] = problem
            return
        predictor = self.predictor
        if self._staged_model is not None and self._staged_model[0] == _model_key(values):
            predictor = self._staged_model[1]
        self._apply(settings, camera, predictor, str(values["checkpoint"]))

    def _on_set_parameters(self, params: list[Parameter]) -> SetParametersResult:
        """Validate a change before it takes effect; a model that fails to load keeps the old one.

        The combination judged is the current values with this change and, inside
        `_set_together`, with the rest of the call's parameters.
        """
        changes = {p.name: p.value for p in params if p.name in SPECS}
        for name, value in changes.items():
            problem = SPECS[name].validate(value)
            if problem:
                return SetParametersResult(successful=False, reason=problem)
        if self._state == "unconfigured" or not changes:
            return SetParametersResult(successful=True)
        values = self._values({**(self._together or {}), **changes})
        try:
            settings = Settings.from_values(values)
            camera = self._load_camera(settings)
        except (ValueError, OSError) as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        predictor = self.predictor
        if any(k in changes for k in MODEL_PARAMETERS):
            key = _model_key(values)
            if self._staged_model is not None and self._staged_model[0] == key:
                predictor = self._staged_model[1]
            else:
                predictor, error = self._load_model(values)
                if error:
                    kept = self.predictor.model_id if self.predictor is not None else "no model"
                    reason = f"{error}; keeping {kept}"
                    self.get_logger().error(reason)
                    self.diag.info["model.last_swap_error"] = reason
                    return SetParametersResult(successful=False, reason=reason)
                self.diag.info["model.last_swap_error"] = self.diag.info["model.load_error"] = ""
            if self._together is not None:
                self._staged_model = (key, predictor)
        if self._together is not None:
            self._together_dirty = True  # applied once the whole call is set
            return SetParametersResult(successful=True)
        self._apply(settings, camera, predictor, str(values["checkpoint"]))
        return SetParametersResult(successful=True)

    # -- building blocks ------------------------------------------------------------------------
    def _load_model(self, values: dict[str, Any]) -> tuple[Any, str]:
        """(predictor or None, error text). An empty checkpoint is no model, not an error."""
        path = str(values["checkpoint"])
        if not path:
            return None, ""
        from rssi_ros.inference.predictor import Predictor
        from rssi_ros.model.checkpoint import CheckpointError

        self._apply_threads(int(self._p("threads")))
        started = time.monotonic()
        try:
            predictor = Predictor.load(
                Path(path).expanduser(), backend=values["backend"], device=values["device"]
            )
            predictor.warmup()
        except CheckpointError as exc:
            return None, f"cannot load model {path!r}: {exc}"
        except Exception as exc:  # torch/onnxruntime raise many types for foreign files; never crash
            return None, f"cannot load model {path!r}: {type(exc).__name__}: {exc}"
        self.get_logger().info(
            f"model {predictor.model_id} ({predictor.backend}) loaded from {path} "
            f"in {time.monotonic() - started:.2f} s; modalities {', '.join(predictor.supported_modalities)}"
        )
        return predictor, ""

    @staticmethod
    def _apply_threads(n: int) -> None:
        """Intra-op threads of torch and onnxruntime (process-wide; 0 keeps the libraries' defaults)."""
        if n <= 0:
            return
        import torch

        torch.set_num_threads(n)
        os.environ[ORT_THREADS_ENV] = str(n)  # read by inference.backends.OnnxRuntimeBackend

    @staticmethod
    def _load_camera(settings: Settings) -> CameraModel | None:
        if not settings.camera_yaml:
            return None
        return CameraModel.from_yaml(Path(settings.camera_yaml).expanduser())

    def _apply(self, settings: Settings, camera: CameraModel | None, predictor: Any, checkpoint: str) -> None:
        """Install new settings and model; a new sync policy inherits the old one's buffers."""
        self.diag.problems.pop("parameters", None)
        vocabulary = predictor.preprocess_config.classes if predictor is not None else ClassVocabulary()
        self.settings = settings
        self.selector = TxSelector(settings.tx_selection, camera, vocabulary)
        detections = self._detection_input is not None
        if (
            self.policy is None
            or self.policy.config != settings.sync
            or self.policy.fixed_rx != settings.fixed_rx
            or self.policy.detections_enabled != detections
        ):
            old = self.policy
            self.policy = SyncPolicy(settings.sync, settings.fixed_rx, detections)
            if old is not None:
                self.policy.adopt(old)
                self._handle(old.flush(time.monotonic()))
            if self._wait_timer is not None:  # the polling period follows sync.max_wait_s
                self.destroy_timer(self._wait_timer)
                self._wait_timer = self._make_wait_timer(settings)
        self.predictor = predictor
        self.processor = FrameProcessor(predictor, self.selector) if predictor is not None else None
        if self._active:
            self._sync_rx_subscription()
        info = self.diag.info
        info["model.id"] = predictor.model_id if predictor is not None else ""
        info["model.backend"] = predictor.backend if predictor is not None else ""
        info["model.checkpoint"] = checkpoint
        info["tx_selection.mode"] = settings.tx_selection.mode
        info["rx.source"] = "fixed parameters" if settings.fixed_rx is not None else RX_TOPIC

    def _make_wait_timer(self, settings: Settings) -> Any:
        """A stopped steady-clock timer that polls waiting images; armed only while some wait."""
        period = max(MIN_WAIT_POLL_S, settings.sync.max_wait_s * WAIT_POLL_FRACTION)
        return self.create_timer(
            period, self._guarded("wait_poll", self._poll_waiting), clock=self._steady_clock, autostart=False
        )

    def _resolve_detections(self) -> None:
        """Choose the detections message type; a vision_msgs that does not import degrades, never blocks.

        Without it the node runs without detections (estimates from position and image), logs the
        reason as an ERROR and reports it in /diagnostics (level ERROR) until reconfigured.
        """
        self._detection_input = None
        self.diag.problems.pop("detections", None)
        if not self._p("detections.enabled"):
            self.diag.info["detections.source"] = "disabled"
            return
        if self._p("detections.type") == "vision_msgs":
            try:
                msg_type = importlib.import_module(VISION_MSGS_MODULE).Detection2DArray
            except Exception as exc:  # ImportError, or a broken install's type support error
                problem = (
                    f"detections.type is vision_msgs but vision_msgs does not import ({type(exc).__name__}: "
                    f"{exc}): running without detections; install ros-<distro>-vision-msgs or set "
                    "detections.type rssi_ros_msgs"
                )
                self.get_logger().error(problem)
                self.diag.problems["detections"] = problem
                self.diag.info["detections.source"] = "unavailable (vision_msgs does not import)"
                return
            self._detection_input = DetectionInput(
                msg_type, self._on_detection2d, "vision_msgs/Detection2DArray"
            )
        else:
            self._detection_input = DetectionInput(
                DetectionArray, self._on_detections, "rssi_ros_msgs/DetectionArray"
            )
        self.diag.info["detections.source"] = self._detection_input.label

    # -- lifecycle ------------------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        self._state = state
        self.diag.info["lifecycle.state"] = state

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        values = self._values()
        try:
            settings = Settings.from_values(values)
            camera = self._load_camera(settings)
        except (ValueError, OSError) as exc:
            self.get_logger().error(f"configuration failed: {exc}")
            self.diag.problems["configuration"] = f"configuration failed: {exc}"
            return TransitionCallbackReturn.FAILURE
        self.diag.problems.pop("configuration", None)
        self._resolve_detections()
        predictor, error = self._load_model(values)
        self.diag.info["model.load_error"] = error
        if error:
            self.get_logger().error(f"{error}; running without a model (images are skipped as no_model)")
        elif predictor is None:
            self.get_logger().warning("no checkpoint set: images are skipped until `checkpoint` is set")
        self._apply(settings, camera, predictor, str(values["checkpoint"]))
        self._camera_enabled = bool(self._p("camera.enabled"))  # read-only: cached for the callbacks
        est_qos = profile(self._p("qos.estimate.reliability"), self._p("qos.estimate.depth"))
        self._estimate_pub = self.create_lifecycle_publisher(RssiEstimate, ESTIMATE_TOPIC, est_qos)
        if self._p("debug_image.enabled"):
            # Reliable (depth 1) matches reliable and best-effort viewers alike; keep-last never blocks.
            self._debug_pub = self.create_lifecycle_publisher(Image, DEBUG_TOPIC, profile("reliable", 1))
        self._wait_timer = self._make_wait_timer(settings)
        self._set_state("inactive")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        result = super().on_activate(state)  # activates the lifecycle publishers
        if result != TransitionCallbackReturn.SUCCESS:
            return result
        self._active = True
        try:
            self._create_subscriptions()
        except ValueError as exc:
            self.get_logger().error(f"activation failed: {exc}")
            self._active = False
            self._destroy_subscriptions()
            return TransitionCallbackReturn.FAILURE
        self._last_image_arrival = time.monotonic()
        if self.policy is not None:
            self.policy.expect_detector(self._last_image_arrival)
        self._set_state("active")
        self.get_logger().info(self._summary("active"))
        raw = self._p("camera.enabled") and self._p("camera.transport") == "raw"
        if (
            raw
            and not os.environ.get(FASTDDS_PROFILE_ENV)
            and "cyclone" not in os.environ.get("RMW_IMPLEMENTATION", "")
        ):
            self.get_logger().info(
                "raw images over Fast DDS: publishers of large frames (960x540 at 30 fps) need a larger "
                "shared-memory segment, or frames and the fixes queued behind them arrive late or not at "
                f"all; export {FASTDDS_PROFILE_ENV}=<rssi_ros share>/config/fastdds_large_images.xml "
                "for the camera driver / bag player (the launch file sets it for this node)"
            )
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._active = False
        self._destroy_subscriptions()
        if self.policy is not None:
            for frame in self.policy.flush(time.monotonic()):
                self._skip(frame.payload.source, reasons.INACTIVE)
        self._set_state("inactive")
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        self._set_state("unconfigured")
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        if self._active:
            self.on_deactivate(state)
        self._release()
        self._set_state("finalized")
        return TransitionCallbackReturn.SUCCESS

    def _release(self) -> None:
        self._destroy_subscriptions()
        for pub in (self._estimate_pub, self._debug_pub):
            if pub is not None:
                self.destroy_lifecycle_publisher(pub)
        self._estimate_pub = self._debug_pub = None
        if self._wait_timer is not None:
            self.destroy_timer(self._wait_timer)
            self._wait_timer = None
        self.predictor = self.processor = self.policy = None

    def _create_subscriptions(self) -> None:
        events = SubscriptionEventCallbacks(message_lost=self._guarded("images_lost", self._on_images_lost))
        image_qos = profile(self._p("qos.image.reliability"), self._p("qos.image.depth"))
        fix_qos = profile(self._p("qos.fix.reliability"), self._p("qos.fix.depth"))
        det_qos = profile(self._p("qos.detections.reliability"), self._p("qos.detections.depth"))
        subs = self._subscriptions_
        if self._p("camera.enabled"):
            compressed = self._p("camera.transport") == "compressed"
            msg_type, topic = (CompressedImage, COMPRESSED_TOPIC) if compressed else (Image, IMAGE_TOPIC)
            callback = self._guarded(
                "compressed_image" if compressed else "image",
                self._on_compressed if compressed else self._on_image,
            )
            # raw=True: the callback gets the serialised bytes and views the pixels in place
            # (see cdr_image) instead of rclpy copying every frame into a new message.
            subs.append(
                self.create_subscription(
                    msg_type, topic, callback, image_qos, event_callbacks=events, raw=True
                )
            )
        self._sync_rx_subscription()
        subs.append(
            self.create_subscription(NavSatFix, TX_TOPIC, self._guarded("tx_fix", self._on_tx), fix_qos)
        )
        if self._detection_input is not None:
            d = self._detection_input
            subs.append(
                self.create_subscription(
                    d.msg_type, DETECTIONS_TOPIC, self._guarded("detections", d.callback), det_qos
                )
            )

    def _sync_rx_subscription(self) -> None:
        """rx/fix is subscribed only while the receiver is not fixed by parameters (rx.fixed may change)."""
        wanted = self.settings is not None and self.settings.fixed_rx is None
        if wanted and self._rx_sub is None:
            fix_qos = profile(self._p("qos.fix.reliability"), self._p("qos.fix.depth"))
            self._rx_sub = self.create_subscription(
                NavSatFix, RX_TOPIC, self._guarded("rx_fix", self._on_rx), fix_qos
            )
        elif not wanted and self._rx_sub is not None:
            self.destroy_subscription(self._rx_sub)
            self._rx_sub = None

    def _destroy_subscriptions(self) -> None:
        for sub in self._subscriptions_:
            self.destroy_subscription(sub)
        self._subscriptions_.clear()
        if self._rx_sub is not None:
            self.destroy_subscription(self._rx_sub)
            self._rx_sub = None

    # -- the guard ------------------------------------------------------------------------------
    def _guarded(self, where: str, callback: Callable[..., None]) -> Callable[..., None]:
        """`callback` such that no exception reaches the executor (it would end spin, and the node).

        What escapes is an internal error (`_internal_error`); the message being handled, if it
        was counted as received but not yet accounted for, is counted under `internal_error`.
        """

        def guarded(*args: Any) -> None:
            self._unsettled = None
            try:
                callback(*args)
            except Exception as exc:
                self._internal_error(where, exc, self._unsettled)
            finally:
                self._unsettled = None

        guarded.__name__ = f"guarded_{where}"
        return guarded

    def _internal_error(self, where: str, exc: Exception, stream: str | None = None) -> None:
        """Count and log an unexpected exception: the traceback once per (callback, type), then throttled."""
        key = f"{INTERNAL_ERRORS}.{where}"
        self.diag.count(key)
        if stream is not None:
            kind = "skipped" if stream in ANSWERED_STREAMS else "rejected"
            self.diag.count(f"{stream}.{kind}.{reasons.INTERNAL_ERROR}")
        try:
            self._report_internal_error(where, key, exc)
        except Exception:  # the report itself failed: it must still never reach the executor
            logging.getLogger(NODE_NAME).exception(f"internal error in the {where} callback, not logged")

    def _report_internal_error(self, where: str, key: str, exc: Exception) -> None:
        signature = (where, type(exc).__name__)
        if signature not in self._tracebacks:
            self._tracebacks.add(signature)
            self._last_warn[key] = time.monotonic()
            trace = "".join(traceback.format_exception(exc)).rstrip()
            self.get_logger().error(
                f"internal error in the {where} callback (a bug; the node carries on):\n{trace}"
            )
        else:
            self._log_throttled(
                key, f"internal error in the {where} callback: {type(exc).__name__}: {exc}", True
            )

    def _receive(self, stream: str) -> None:
        self.diag.received(stream)
        self._unsettled = stream

    def _settle(self, stream: str) -> None:
        """The message of `stream` being handled is accounted for (accepted, rejected, skipped, waiting)."""
        if self._unsettled == stream:
            self._unsettled = None

    # -- callbacks ------------------------------------------------------------------------------
    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _stamp_problem(self, stamp: int) -> str | None:
        s = self.settings
        assert s is not None
        return check_stamp(stamp, self._now_ns(), s.stamp_max_age_s, s.stamp_max_lead_s)

    def _on_image(self, raw: bytes) -> None:
        self._image(raw, parse_image, image_to_rgb)

    def _on_compressed(self, raw: bytes) -> None:
        self._image(raw, parse_compressed_image, compressed_to_rgb)

    def _image(self, raw: bytes, parse: Any, convert: Any) -> None:
        arrival = time.monotonic()
        self._last_image_arrival = arrival
        self._receive("images")
        try:
            msg = parse(raw)
        except ValueError as exc:
            self._skip("images", reasons.DECODE_FAILED, str(exc))
            return
        stamp = stamp_ns(msg.header.stamp)
        problem = self._stamp_problem(stamp)
        if problem:
            hint = SIM_TIME_HINT if problem == reasons.STAMP_TOO_OLD and not self._p("use_sim_time") else ""
            self._skip("images", problem, f"image stamp {stamp * 1e-9:.3f} s{hint}")
            return
        if self.processor is None:
            self._skip("images", reasons.NO_MODEL)
            return
        try:
            rgb = convert(msg, self.settings.max_pixels)
        except InputError as exc:
            self._skip("images", exc.reason, exc.detail)
            return
        assert self.policy is not None
        self._camera_frame_id = str(msg.header.frame_id)
        frames = self.policy.add_image(stamp, Capture(rgb, self._camera_frame_id, "images"), arrival)
        self._settle("images")  # answered in `frames`, or waiting
        self._handle(frames)
        self._arm_wait()

    def _fix(self, msg: NavSatFix, stream: str) -> Fix | None:
        self._receive(stream)
        try:
            fix = check_fix(msg, self.settings.fix_limits)
        except InputError as exc:
            self._reject(stream, exc.reason, exc.detail)
            return None
        problem = self._stamp_problem(fix.stamp_ns)
        if problem:
            self._reject(stream, problem, f"fix stamp {fix.stamp_ns * 1e-9:.3f} s")
            return None
        self._accept(stream)
        return fix

    def _on_rx(self, msg: NavSatFix) -> None:
        fix = self._fix(msg, "rx_fix")
        if fix is not None and self.policy is not None:
            self._handle(self.policy.add_rx(fix, time.monotonic()))

    def _on_tx(self, msg: NavSatFix) -> None:
        fix = self._fix(msg, "tx_fix")
        if fix is None or self.policy is None:
            return
        now = time.monotonic()
        self._handle(self.policy.add_tx(fix, now))
        timeout = self.settings.camera_timeout_s
        camera_silent = timeout > 0 and now - self._last_image_arrival > timeout
        if not self._camera_enabled or camera_silent:
            # No camera (or a silent one): the transmitter's fix triggers a position(+boxes) estimate,
            # in the camera's frame (the `frame_id` parameter, else the last image's), not the GPS's.
            self._receive("fix_triggers")
            if self.processor is None:
                self._skip("fix_triggers", reasons.NO_MODEL)
                return
            capture = Capture(None, self._camera_frame_id, "fix_triggers")
            frames = self.policy.add_image(fix.stamp_ns, capture, now)
            self._settle("fix_triggers")
            self._handle(frames)
            self._arm_wait()

    def _on_detections(self, msg: DetectionArray) -> None:
        self._detections(msg, from_detection_array)

    def _on_detection2d(self, msg: Any) -> None:
        self._detections(msg, from_detection2d_array)

    def _detections(self, msg: Any, convert: Any) -> None:
        self._receive("detections")
        vocabulary = (
            self.predictor.preprocess_config.classes if self.predictor is not None else ClassVocabulary()
        )
        try:
            dets = convert(msg, vocabulary, self.settings.max_detections)
        except InputError as exc:
            self._reject("detections", exc.reason, exc.detail)
            return
        problem = self._stamp_problem(dets.stamp_ns)
        if problem:
            self._reject("detections", problem, f"detection stamp {dets.stamp_ns * 1e-9:.3f} s")
            return
        self._accept("detections")
        if dets.n_invalid:
            self.diag.count("detections.boxes_invalid", dets.n_invalid)
        if dets.n_unknown_classes:
            self.diag.count("detections.unknown_classes", dets.n_unknown_classes)
        if self.policy is not None:
            self._handle(self.policy.add_detections(dets, time.monotonic()))

    def _on_images_lost(self, info: Any) -> None:
        self.diag.count("images.lost_in_transport", int(info.total_count_change))

    def _poll_waiting(self) -> None:
        if self.policy is None:
            return
        self._handle(self.policy.poll(time.monotonic()))
        if not self.policy.pending and self._wait_timer is not None:
            self._wait_timer.cancel()

    def _arm_wait(self) -> None:
        timer = self._wait_timer
        if self.policy is not None and self.policy.pending and timer is not None and timer.is_canceled():
            timer.reset()

    # -- answering ------------------------------------------------------------------------------
    def _handle(self, frames: list[Frame]) -> None:
        """Answer resolved frames; one that fails unexpectedly is skipped (internal_error), not lost."""
        for frame in frames:
            try:
                self._answer(frame)
            except Exception as exc:
                self._internal_error("answer", exc)
                self._skip(frame.payload.source, reasons.INTERNAL_ERROR, "see the internal error logged")

    def _answer(self, frame: Frame) -> None:
        """An estimate or a counted skip; nothing after the count can raise (the debug image is guarded)."""
        capture: Capture = frame.payload
        if frame.skip_reason:
            detail = self.policy.explain(frame) if self.policy is not None else ""
            self._skip(capture.source, frame.skip_reason, detail)
            return
        if self.processor is None:
            self._skip(capture.source, reasons.NO_MODEL)
            return
        try:
            outcome = self.processor.process(frame)
        except InputError as exc:
            self._skip(capture.source, exc.reason, exc.detail)
            return
        if outcome.boxes_outside:
            self.diag.count("detections.boxes_outside_image", outcome.boxes_outside)
        if outcome.boxes_unusable:
            self.diag.count("detections.unusable_without_image_size")
        frame_id = self.settings.frame_id or capture.frame_id
        latency_ms = (time.monotonic() - frame.arrival) * 1e3
        self._estimate_pub.publish(estimate_msg(outcome, frame.stamp_ns, frame_id, latency_ms))
        self.diag.answered(latency_ms, capture.source)
        if self._debug_pub is not None and self._debug_pub.get_subscription_count() > 0:
            try:
                self._publish_debug(outcome, frame, frame_id)
            except Exception as exc:
                self._internal_error("debug_image", exc)

    def _publish_debug(self, outcome: Any, frame: Frame, frame_id: str) -> None:
        e = outcome.estimate
        lines = [
            f"RSSI {e.rssi_db:7.2f} dB",
            f"PL {e.path_loss_db:6.2f}  SH {e.shadow_fading_db:6.2f} dB",
            f"d {e.distance_m:6.1f} m  tx {'in view' if e.tx_in_view else 'not in view'}",
        ]
        width = int(self._p("debug_image.width"))
        rgb = debug_image.render(
            frame.payload.rgb, outcome.sample.boxes, lines, width, outcome.choice.projected_uv
        )
        self._debug_pub.publish(rgb_image_msg(rgb, frame.stamp_ns, frame_id))

    def _accept(self, stream: str) -> None:
        self.diag.count(f"{stream}.accepted")
        self._settle(stream)

    def _skip(self, source: str, reason: str, detail: str = "") -> None:
        key = f"{source}.skipped.{reason}"
        self.diag.count(key)
        self._settle(source)
        self._log_throttled(key, f"{source}: skipped ({reason}) {detail}".rstrip())

    def _reject(self, stream: str, reason: str, detail: str) -> None:
        key = f"{stream}.rejected.{reason}"
        self.diag.count(key)
        self._settle(stream)
        self._log_throttled(key, f"{stream}: rejected ({reason}) {detail}")

    def _log_throttled(self, key: str, text: str, error: bool = False) -> None:
        """Log once per WARN_THROTTLE_S per counter key, with the running count."""
        now = time.monotonic()
        if now - self._last_warn.get(key, -math.inf) >= WARN_THROTTLE_S:
            self._last_warn[key] = now
            line = f"{text} [{self.diag.counters[key]} so far]"
            # Two call sites: rclpy refuses a second severity from the same line of code.
            if error:
                self.get_logger().error(line)
            else:
                self.get_logger().warning(line)

    # -- diagnostics ----------------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        payloads = self.policy.pending_payloads() if self.policy is not None else []
        pending = Counter(p.source for p in payloads)
        snap = self.diag.snapshot(
            time.monotonic(),
            pending,
            model_loaded=self.predictor is not None,
            camera_enabled=bool(self._p("camera.enabled")),
        )
        hardware_id = self.predictor.model_id if self.predictor is not None else "no-model"
        name = f"{self.get_name()}: rssi estimator"
        self._diag_pub.publish(diagnostics_msg(snap, name, hardware_id, self.get_clock().now().to_msg()))

    def _summary(self, state: str) -> str:
        model = self.predictor.model_id if self.predictor is not None else "NO MODEL"
        transport = self._p("camera.transport") if self._p("camera.enabled") else "off"
        detections = self._detection_input.label if self._detection_input is not None else "off"
        rx = "fixed" if self.settings.fixed_rx is not None else RX_TOPIC
        return (
            f"{state}: model {model}, camera {transport}, detections {detections}, rx {rx}, "
            f"tx_selection {self.settings.tx_selection.mode}, use_sim_time {self._p('use_sim_time')}"
        )

    def counters(self) -> dict[str, int]:
        return dict(self.diag.counters)
