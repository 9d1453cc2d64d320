"""The `rssi_predictor` lifecycle node: lifecycle transitions, wiring, callbacks that delegate.

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
(`guard.CallbackGuard`): an exception nobody anticipated is logged (its traceback once), counted as
`internal_errors.<callback>` and the message as skipped/rejected `internal_error`, and the node
carries on; an escaping exception would end `spin` and with it the node.

Timers (diagnostics, the poll of waiting images) run on the steady clock, not the node's ROS clock:
with `use_sim_time` and no /clock (a bag paused or finished) they would otherwise stop.

Delegated: `parameters` (declaration, coercion, one set call judged as a whole), `inputs` (the
subscriptions and the detections type), `model_loader` (loading and staging models), `guard` and
`throttled_log` (unexpected exceptions, repeated warnings), and the pure pieces named above.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.clock import Clock, ClockType
from rclpy.exceptions import ParameterNotDeclaredException
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_system_default
from sensor_msgs.msg import Image, NavSatFix

from rssi_ros.data.camera import CameraModel
from rssi_ros.data.classes import ClassVocabulary
from rssi_ros.ros import debug_image, parameters, reasons
from rssi_ros.ros.cdr_image import parse_compressed_image, parse_image
from rssi_ros.ros.config import PARAMETERS, SPECS, Settings
from rssi_ros.ros.detection_conversion import from_detection2d_array, from_detection_array
from rssi_ros.ros.diagnostics import DiagnosticsAggregator
from rssi_ros.ros.fix_validation import Fix, check_fix, stamp_ns
from rssi_ros.ros.frame_processor import FrameProcessor
from rssi_ros.ros.guard import CallbackGuard
from rssi_ros.ros.image_conversion import compressed_to_rgb, image_to_rgb
from rssi_ros.ros.inputs import (
    DETECTIONS_SOURCE,
    RX_TOPIC,
    Handlers,
    Inputs,
    choose_detections,
    large_image_hint,
)
from rssi_ros.ros.messages import diagnostics_msg, estimate_msg, rgb_image_msg
from rssi_ros.ros.model_loader import MODEL_PARAMETERS, ModelLoader
from rssi_ros.ros.qos import profile
from rssi_ros.ros.reasons import InputError
from rssi_ros.ros.sync import Frame, SyncPolicy, check_stamp
from rssi_ros.ros.throttled_log import ThrottledLog
from rssi_ros.ros.tx_selection import TxSelector
from rssi_ros_msgs.msg import RssiEstimate

NODE_NAME = "rssi_predictor"
ESTIMATE_TOPIC, DEBUG_TOPIC, DIAGNOSTICS_TOPIC = "~/estimate", "~/debug_image", "/diagnostics"
SIM_TIME_HINT = " (replaying a bag? start the node with use_sim_time:=true and publish /clock)"
# Polling period of images waiting for their inputs, as a fraction of sync.max_wait_s.
WAIT_POLL_FRACTION = 0.25
MIN_WAIT_POLL_S = 0.002


@dataclass
class Capture:
    """What the sync policy carries for one image (or fix trigger): RGB (or None), frame id, source."""

    rgb: Any
    frame_id: str
    source: str  # "images" or "fix_triggers": the diagnostics stream that counts it


def _configuration(values: dict[str, Any]) -> tuple[Settings, CameraModel | None]:
    """Settings and camera model of parameter values; ValueError or OSError when they do not work."""
    settings = Settings.from_values(values)
    if not settings.camera_yaml:
        return settings, None
    return settings, CameraModel.from_yaml(Path(settings.camera_yaml).expanduser())


class PredictorNode(LifecycleNode):
    """See the module docstring. Construct, then spin; `autostart` brings it to active."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(NODE_NAME, **kwargs)
        self._steady_clock = Clock(clock_type=ClockType.STEADY_TIME)
        parameters.declare(self)
        self.diag = DiagnosticsAggregator()
        self.predictor: Any = None
        self.settings: Settings | None = None
        self.policy: SyncPolicy | None = None
        self.processor: FrameProcessor | None = None
        self.selector: TxSelector | None = None
        self._throttled = ThrottledLog(self.get_logger(), self.diag.counters)
        self._guard = CallbackGuard(self.diag, self.get_logger(), self._throttled, NODE_NAME)
        handlers = Handlers(
            image=self._on_image,
            compressed_image=self._on_compressed,
            images_lost=self._on_images_lost,
            rx_fix=self._on_rx,
            tx_fix=self._on_tx,
            detections=self._on_detections,
            detection2d=self._on_detection2d,
        )
        self._inputs = Inputs(self, self._guard.wrap, handlers)
        self._models = ModelLoader(int(self._p("threads")), self.get_logger())
        self._whole_call = parameters.WholeCall(self._end_of_call)
        self._estimate_pub: Any = None
        self._debug_pub: Any = None
        self._wait_timer: Any = None
        self._last_image_arrival = time.monotonic()
        self._camera_frame_id = ""  # of the last usable image: the frame of fix-triggered estimates
        self._active = False
        self._camera_enabled = True
        self._state = "unconfigured"
        self.diag.info["lifecycle.state"] = self._state
        self.add_pre_set_parameters_callback(parameters.coerce)
        self.add_on_set_parameters_callback(self._guarded_on_set_parameters)
        parameters.route_service(self, self._whole_call, self._guard)
        self._diag_pub = self.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, qos_profile_system_default)
        self._diag_timer = self.create_timer(
            float(self._p("diagnostics.period_s")),
            self._guard.wrap("diagnostics", self._publish_diagnostics),
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

    def set_parameters(self, parameter_list: list[Parameter]) -> list[SetParametersResult]:
        """rclpy's non-atomic set, but the parameters of one call are judged together (`WholeCall`).

        Guarded: an unexpected exception fails the call's parameters with the reason (counted as
        `internal_errors.set_parameters`); an undeclared parameter still raises, as rclpy's does.
        """
        base = super().set_parameters
        return self._guard.attempt(
            parameters.SET_PARAMETERS,
            lambda: self._whole_call.run(parameter_list, lambda p: base([p])[0]),
            lambda exc: [parameters.failed(parameters.internal_failure(exc)) for _ in parameter_list],
            passes=(ParameterNotDeclaredException,),
        )

    def _end_of_call(self, deferred: bool) -> str | None:
        """The end of a `WholeCall`: apply what its parameters changed, once; forget its staged model.

        Returns why the set values do not run (None when they do), which fails the call's results.
        """
        try:
            if not deferred:
                return None
            return self._guard.attempt(
                parameters.SET_PARAMETERS,
                self._apply_current,
                lambda exc: self._not_applied(parameters.internal_failure(exc)),
            )
        finally:
            self._models.unstage()

    def _not_applied(self, cause: str) -> str:
        """Set but not applied (the node runs as before the call): logged, ERROR until a change applies."""
        problem = f"parameters set but not applied, the previous configuration runs: {cause}"
        self.get_logger().error(problem)
        self.diag.problems["parameters"] = problem
        return problem

    def _apply_current(self) -> str | None:
        """Apply the current parameter values (the end of a whole call); why not, or None.

        They were validated as a whole before any was accepted, so this fails only if something
        changed meanwhile (a camera YAML deleted); then the previous configuration stays and
        /diagnostics reports ERROR until a later change applies.
        """
        values = self._values()
        try:
            settings, camera = _configuration(values)
        except (ValueError, OSError) as exc:
            return self._not_applied(str(exc))
        predictor = self._models.staged(values, self.predictor)
        self._apply(settings, camera, predictor, str(values["checkpoint"]))
        return None

    def _guarded_on_set_parameters(self, params: list[Parameter]) -> SetParametersResult:
        """`_on_set_parameters` in the guard: a bug refuses the change with the reason; nothing applies."""
        return self._guard.attempt(
            parameters.SET_PARAMETERS,
            lambda: self._on_set_parameters(params),
            lambda exc: parameters.failed(parameters.internal_failure(exc)),
        )

    def _on_set_parameters(self, params: list[Parameter]) -> SetParametersResult:
        """Validate a change before it takes effect; a model that fails to load keeps the old one.

        The combination judged is the current values with this change and, inside a whole call
        (`parameters.WholeCall`), with the rest of the call's parameters.
        """
        changes = {p.name: p.value for p in params if p.name in SPECS}
        for name, value in changes.items():
            problem = SPECS[name].validate(value)
            if problem:
                return SetParametersResult(successful=False, reason=problem)
        if self._state == "unconfigured" or not changes:
            return SetParametersResult(successful=True)
        call = self._whole_call
        values = self._values({**(call.values or {}), **changes})
        try:
            settings, camera = _configuration(values)
        except (ValueError, OSError) as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        predictor = self.predictor
        if any(k in changes for k in MODEL_PARAMETERS):
            # Inside a whole call, a model (or its failure) is loaded once for the call's other
            # model parameters and the final apply.
            predictor, error = self._models.load_once(values, stage=call.active)
            if error:
                kept = self.predictor.model_id if self.predictor is not None else "no model"
                reason = f"{error}; keeping {kept}"
                self.get_logger().error(reason)
                self.diag.info["model.last_swap_error"] = reason
                return SetParametersResult(successful=False, reason=reason)
            self.diag.info["model.last_swap_error"] = self.diag.info["model.load_error"] = ""
        if call.active:
            call.defer()  # applied once the whole call is set
            return SetParametersResult(successful=True)
        self._apply(settings, camera, predictor, str(values["checkpoint"]))
        return SetParametersResult(successful=True)

    # -- building blocks ------------------------------------------------------------------------
    def _apply(self, settings: Settings, camera: CameraModel | None, predictor: Any, checkpoint: str) -> None:
        """Install new settings and model; a new sync policy inherits the old one's buffers.

        The new pieces are built before any is installed: if building fails (a bug), the running
        configuration stays whole instead of half old, half new.
        """
        vocabulary = predictor.preprocess_config.classes if predictor is not None else ClassVocabulary()
        selector = TxSelector(settings.tx_selection, camera, vocabulary)
        processor = FrameProcessor(predictor, selector) if predictor is not None else None
        detections = self._inputs.detection is not None
        old = self.policy
        policy = old
        if (
            old is None
            or old.config != settings.sync
            or old.fixed_rx != settings.fixed_rx
            or old.detections_enabled != detections
        ):
            policy = SyncPolicy(settings.sync, settings.fixed_rx, detections)
        self.diag.problems.pop("parameters", None)
        self.settings = settings
        self.selector = selector
        if policy is not old:
            self.policy = policy
            if old is not None:
                policy.adopt(old)
                self._handle(old.flush(time.monotonic()))  # answered by the model they waited for
            if self._wait_timer is not None:  # the polling period follows sync.max_wait_s
                self.destroy_timer(self._wait_timer)
                self._wait_timer = self._make_wait_timer(settings)
        self.predictor = predictor
        self.processor = processor
        if self._active:
            self._inputs.sync_rx(settings.fixed_rx is None)
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
            period,
            self._guard.wrap("wait_poll", self._poll_waiting),
            clock=self._steady_clock,
            autostart=False,
        )

    def _resolve_detections(self) -> None:
        """Choose the detections message type; a vision_msgs that does not import degrades, never blocks.

        Without it the node runs without detections (estimates from position and image), logs the
        reason as an ERROR and reports it in /diagnostics (level ERROR) until reconfigured.
        """
        detection, source, problem = choose_detections(
            bool(self._p("detections.enabled")), self._p("detections.type")
        )
        self._inputs.detection = detection
        self.diag.problems.pop("detections", None)
        if problem:
            self.get_logger().error(problem)
            self.diag.problems["detections"] = problem
        self.diag.info[DETECTIONS_SOURCE] = source

    # -- lifecycle ------------------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        self._state = state
        self.diag.info["lifecycle.state"] = state

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        values = self._values()
        try:
            settings, camera = _configuration(values)
        except (ValueError, OSError) as exc:
            self.get_logger().error(f"configuration failed: {exc}")
            self.diag.problems["configuration"] = f"configuration failed: {exc}"
            return TransitionCallbackReturn.FAILURE
        self.diag.problems.pop("configuration", None)
        self._resolve_detections()
        predictor, error = self._models.load(values)
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
            self._inputs.create(self.settings is not None and self.settings.fixed_rx is None)
        except ValueError as exc:
            self.get_logger().error(f"activation failed: {exc}")
            self._active = False
            self._inputs.destroy()
            return TransitionCallbackReturn.FAILURE
        self._last_image_arrival = time.monotonic()
        if self.policy is not None:
            self.policy.expect_detector(self._last_image_arrival)
        self._set_state("active")
        self.get_logger().info(self._summary("active"))
        hint = large_image_hint(
            self._p("camera.enabled") and self._p("camera.transport") == "raw", os.environ
        )
        if hint:
            self.get_logger().info(hint)
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._active = False
        self._inputs.destroy()
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
        self._inputs.destroy()
        for pub in (self._estimate_pub, self._debug_pub):
            if pub is not None:
                self.destroy_lifecycle_publisher(pub)
        self._estimate_pub = self._debug_pub = None
        if self._wait_timer is not None:
            self.destroy_timer(self._wait_timer)
            self._wait_timer = None
        self.predictor = self.processor = self.policy = None

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
        self._guard.receive("images")
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
        self._guard.settle("images")  # answered in `frames`, or waiting
        self._handle(frames)
        self._arm_wait()

    def _fix(self, msg: NavSatFix, stream: str) -> Fix | None:
        self._guard.receive(stream)
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
            self._guard.receive("fix_triggers")
            if self.processor is None:
                self._skip("fix_triggers", reasons.NO_MODEL)
                return
            capture = Capture(None, self._camera_frame_id, "fix_triggers")
            frames = self.policy.add_image(fix.stamp_ns, capture, now)
            self._guard.settle("fix_triggers")
            self._handle(frames)
            self._arm_wait()

    def _on_detections(self, msg: Any) -> None:
        self._detections(msg, from_detection_array)

    def _on_detection2d(self, msg: Any) -> None:
        self._detections(msg, from_detection2d_array)

    def _detections(self, msg: Any, convert: Any) -> None:
        self._guard.receive("detections")
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
                self._guard.internal_error("answer", exc)
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
                self._guard.internal_error("debug_image", exc)

    def _publish_debug(self, outcome: Any, frame: Frame, frame_id: str) -> None:
        lines = debug_image.caption(outcome.estimate)
        width = int(self._p("debug_image.width"))
        rgb = debug_image.render(
            frame.payload.rgb, outcome.sample.boxes, lines, width, outcome.choice.projected_uv
        )
        self._debug_pub.publish(rgb_image_msg(rgb, frame.stamp_ns, frame_id))

    def _accept(self, stream: str) -> None:
        self.diag.count(f"{stream}.accepted")
        self._guard.settle(stream)

    def _skip(self, source: str, reason: str, detail: str = "") -> None:
        key = f"{source}.skipped.{reason}"
        self.diag.count(key)
        self._guard.settle(source)
        self._throttled.log(key, f"{source}: skipped ({reason}) {detail}".rstrip())

    def _reject(self, stream: str, reason: str, detail: str) -> None:
        key = f"{stream}.rejected.{reason}"
        self.diag.count(key)
        self._guard.settle(stream)
        self._throttled.log(key, f"{stream}: rejected ({reason}) {detail}")

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
        detection = self._inputs.detection
        detections = detection.label if detection is not None else "off"
        rx = "fixed" if self.settings.fixed_rx is not None else RX_TOPIC
        return (
            f"{state}: model {model}, camera {transport}, detections {detections}, rx {rx}, "
            f"tx_selection {self.settings.tx_selection.mode}, use_sim_time {self._p('use_sim_time')}"
        )

    def counters(self) -> dict[str, int]:
        return dict(self.diag.counters)
