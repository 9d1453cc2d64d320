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
a slow model drops stale frames instead of building up latency.
"""

from __future__ import annotations

import importlib
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_system_default
from sensor_msgs.msg import CompressedImage, Image, NavSatFix

from rssi_ros.data.camera import CameraModel
from rssi_ros.data.classes import ClassVocabulary
from rssi_ros.data.sample import Box, Sample
from rssi_ros.ros import debug_image, reasons
from rssi_ros.ros.cdr_image import parse_compressed_image, parse_image
from rssi_ros.ros.config import PARAMETERS, SPECS, ParamSpec, Settings
from rssi_ros.ros.detection_conversion import from_detection2d_array, from_detection_array
from rssi_ros.ros.diagnostics import DiagnosticsAggregator
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


@dataclass
class Capture:
    """What the sync policy carries for one image (or fix trigger): RGB (or None), frame id, source."""

    rgb: Any
    frame_id: str
    source: str  # "images" or "fix_triggers": the diagnostics stream that counts it


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
        for spec in PARAMETERS:
            self.declare_parameter(spec.name, spec.default, _descriptor(spec))
        self.diag = DiagnosticsAggregator()
        self.predictor: Any = None
        self.settings: Settings | None = None
        self.policy: SyncPolicy | None = None
        self.processor: FrameProcessor | None = None
        self.selector: TxSelector | None = None
        self._subscriptions_: list[Any] = []
        self._estimate_pub: Any = None
        self._debug_pub: Any = None
        self._wait_timer: Any = None
        self._last_warn: dict[str, float] = {}
        self._last_image_arrival = time.monotonic()
        self._active = False
        self._camera_enabled = True
        self._state = "unconfigured"
        self.diag.info["lifecycle.state"] = self._state
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self._diag_pub = self.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, qos_profile_system_default)
        self.create_timer(float(self._p("diagnostics.period_s")), self._publish_diagnostics)
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

    def _on_set_parameters(self, params: list[Parameter]) -> SetParametersResult:
        """Validate a change before it takes effect; a model that fails to load keeps the old one."""
        changes = {p.name: p.value for p in params if p.name in SPECS}
        for name, value in changes.items():
            problem = SPECS[name].validate(value)
            if problem:
                return SetParametersResult(successful=False, reason=problem)
        if self._state == "unconfigured" or not changes:
            return SetParametersResult(successful=True)
        values = self._values(changes)
        try:
            settings = Settings.from_values(values)
            camera = self._load_camera(settings)
        except (ValueError, OSError) as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        predictor = self.predictor
        if any(k in changes for k in MODEL_PARAMETERS):
            predictor, error = self._load_model(values)
            if error:
                kept = self.predictor.model_id if self.predictor is not None else "no model"
                reason = f"{error}; keeping {kept}"
                self.get_logger().error(reason)
                self.diag.info["model.last_swap_error"] = reason
                return SetParametersResult(successful=False, reason=reason)
            self.diag.info["model.last_swap_error"] = self.diag.info["model.load_error"] = ""
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
        vocabulary = predictor.preprocess_config.classes if predictor is not None else ClassVocabulary()
        self.settings = settings
        self.selector = TxSelector(settings.tx_selection, camera, vocabulary)
        detections = bool(self._p("detections.enabled"))
        if (
            self.policy is None
            or self.policy.config != settings.sync
            or self.policy.fixed_rx != settings.fixed_rx
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
        info = self.diag.info
        info["model.id"] = predictor.model_id if predictor is not None else ""
        info["model.backend"] = predictor.backend if predictor is not None else ""
        info["model.checkpoint"] = checkpoint
        info["tx_selection.mode"] = settings.tx_selection.mode
        info["rx.source"] = "fixed parameters" if settings.fixed_rx is not None else RX_TOPIC

    def _make_wait_timer(self, settings: Settings) -> Any:
        """A cancelled timer that polls waiting images; armed only while some wait."""
        period = max(MIN_WAIT_POLL_S, settings.sync.max_wait_s * WAIT_POLL_FRACTION)
        timer = self.create_timer(period, self._poll_waiting)
        timer.cancel()
        return timer

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
            return TransitionCallbackReturn.FAILURE
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
        try:
            self._create_subscriptions()
        except (ValueError, ImportError) as exc:
            self.get_logger().error(f"activation failed: {exc}")
            self._destroy_subscriptions()
            return TransitionCallbackReturn.FAILURE
        self._last_image_arrival = time.monotonic()
        if self.policy is not None:
            self.policy.expect_detector(self._last_image_arrival)
        self._active = True
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
        events = SubscriptionEventCallbacks(message_lost=self._on_images_lost)
        image_qos = profile(self._p("qos.image.reliability"), self._p("qos.image.depth"))
        fix_qos = profile(self._p("qos.fix.reliability"), self._p("qos.fix.depth"))
        det_qos = profile(self._p("qos.detections.reliability"), self._p("qos.detections.depth"))
        subs = self._subscriptions_
        if self._p("camera.enabled"):
            compressed = self._p("camera.transport") == "compressed"
            msg_type, topic = (CompressedImage, COMPRESSED_TOPIC) if compressed else (Image, IMAGE_TOPIC)
            callback = self._on_compressed if compressed else self._on_image
            # raw=True: the callback gets the serialised bytes and views the pixels in place
            # (see cdr_image) instead of rclpy copying every frame into a new message.
            subs.append(
                self.create_subscription(
                    msg_type, topic, callback, image_qos, event_callbacks=events, raw=True
                )
            )
        subs.append(self.create_subscription(NavSatFix, RX_TOPIC, self._on_rx, fix_qos))
        subs.append(self.create_subscription(NavSatFix, TX_TOPIC, self._on_tx, fix_qos))
        if self._p("detections.enabled"):
            if self._p("detections.type") == "vision_msgs":
                try:
                    msg_type = importlib.import_module("vision_msgs.msg").Detection2DArray
                except ImportError as exc:
                    raise ImportError(
                        "detections.type is vision_msgs but vision_msgs does not import; install "
                        "ros-<distro>-vision-msgs or use rssi_ros_msgs/DetectionArray"
                    ) from exc
                subs.append(
                    self.create_subscription(msg_type, DETECTIONS_TOPIC, self._on_detection2d, det_qos)
                )
            else:
                subs.append(
                    self.create_subscription(DetectionArray, DETECTIONS_TOPIC, self._on_detections, det_qos)
                )

    def _destroy_subscriptions(self) -> None:
        for sub in self._subscriptions_:
            self.destroy_subscription(sub)
        self._subscriptions_.clear()

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
        self.diag.received("images")
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
        self._handle(self.policy.add_image(stamp, Capture(rgb, msg.header.frame_id, "images"), arrival))
        self._arm_wait()

    def _fix(self, msg: NavSatFix, stream: str) -> Fix | None:
        self.diag.received(stream)
        try:
            fix = check_fix(msg, self.settings.fix_limits)
        except InputError as exc:
            self._reject(stream, exc.reason, exc.detail)
            return None
        problem = self._stamp_problem(fix.stamp_ns)
        if problem:
            self._reject(stream, problem, f"fix stamp {fix.stamp_ns * 1e-9:.3f} s")
            return None
        self.diag.count(f"{stream}.accepted")
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
            # No camera (or a silent one): the transmitter's fix triggers a position(+boxes) estimate.
            self.diag.received("fix_triggers")
            if self.processor is None:
                self._skip("fix_triggers", reasons.NO_MODEL)
                return
            self._handle(
                self.policy.add_image(fix.stamp_ns, Capture(None, msg.header.frame_id, "fix_triggers"), now)
            )
            self._arm_wait()

    def _on_detections(self, msg: DetectionArray) -> None:
        self._detections(msg, from_detection_array)

    def _on_detection2d(self, msg: Any) -> None:
        self._detections(msg, from_detection2d_array)

    def _detections(self, msg: Any, convert: Any) -> None:
        self.diag.received("detections")
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
        self.diag.count("detections.accepted")
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
        for frame in frames:
            capture: Capture = frame.payload
            if frame.skip_reason:
                detail = self.policy.explain(frame) if self.policy is not None else ""
                self._skip(capture.source, frame.skip_reason, detail)
                continue
            if self.processor is None:
                self._skip(capture.source, reasons.NO_MODEL)
                continue
            try:
                outcome = self.processor.process(frame)
            except InputError as exc:
                self._skip(capture.source, exc.reason, exc.detail)
                continue
            if outcome.boxes_outside:
                self.diag.count("detections.boxes_outside_image", outcome.boxes_outside)
            if outcome.boxes_unusable:
                self.diag.count("detections.unusable_without_image_size")
            frame_id = self.settings.frame_id or capture.frame_id
            done = time.monotonic()
            latency_ms = (done - frame.arrival) * 1e3
            self._estimate_pub.publish(estimate_msg(outcome, frame.stamp_ns, frame_id, latency_ms))
            if capture.source == "images":
                self.diag.answered(latency_ms)
            else:
                self.diag.count("fix_triggers.answered")
            if self._debug_pub is not None and self._debug_pub.get_subscription_count() > 0:
                self._publish_debug(outcome, frame, frame_id)

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

    def _skip(self, source: str, reason: str, detail: str = "") -> None:
        key = f"{source}.skipped.{reason}"
        self.diag.count(key)
        self._warn(key, f"{source}: skipped ({reason}) {detail}".rstrip())

    def _reject(self, stream: str, reason: str, detail: str) -> None:
        key = f"{stream}.rejected.{reason}"
        self.diag.count(key)
        self._warn(key, f"{stream}: rejected ({reason}) {detail}")

    def _warn(self, key: str, text: str) -> None:
        """Log once per WARN_THROTTLE_S per counter key, with the running count."""
        now = time.monotonic()
        if now - self._last_warn.get(key, -math.inf) >= WARN_THROTTLE_S:
            self._last_warn[key] = now
            self.get_logger().warning(f"{text} [{self.diag.counters[key]} so far]")

    # -- diagnostics ----------------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        pending = self.policy.pending if self.policy is not None else 0
        snap = self.diag.snapshot(time.monotonic(), pending, model_loaded=self.predictor is not None)
        hardware_id = self.predictor.model_id if self.predictor is not None else "no-model"
        name = f"{self.get_name()}: rssi estimator"
        self._diag_pub.publish(diagnostics_msg(snap, name, hardware_id, self.get_clock().now().to_msg()))

    def _summary(self, state: str) -> str:
        model = self.predictor.model_id if self.predictor is not None else "NO MODEL"
        transport = self._p("camera.transport") if self._p("camera.enabled") else "off"
        return (
            f"{state}: model {model}, camera {transport}, detections "
            f"{self._p('detections.type') if self._p('detections.enabled') else 'off'}, "
            f"tx_selection {self.settings.tx_selection.mode}, use_sim_time {self._p('use_sim_time')}"
        )

    def counters(self) -> dict[str, int]:
        return dict(self.diag.counters)
