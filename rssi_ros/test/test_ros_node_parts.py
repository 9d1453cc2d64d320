"""The pieces the node delegates to, without a ROS graph: guard, throttled log, whole-call sets, inputs."""

from __future__ import annotations

import pytest
from rcl_interfaces.msg import SetParametersResult
from rclpy.parameter import Parameter

from rssi_ros.ros.config import SPECS
from rssi_ros.ros.diagnostics import DiagnosticsAggregator, identities
from rssi_ros.ros.guard import CallbackGuard
from rssi_ros.ros.inputs import FASTDDS_PROFILE_ENV, choose_detections, large_image_hint
from rssi_ros.ros.model_loader import ModelLoader
from rssi_ros.ros.parameters import WholeCall, acceptable, as_declared, startup_problem
from rssi_ros.ros.throttled_log import ThrottledLog


class Logger:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def warning(self, text: str) -> None:
        self.lines.append(("warning", text))

    def error(self, text: str) -> None:
        self.lines.append(("error", text))

    def info(self, text: str) -> None:
        self.lines.append(("info", text))


def test_throttled_log_once_per_period_per_key_with_the_count():
    now = [0.0]
    counts = {"a": 3, "b": 1}
    logger = Logger()
    log = ThrottledLog(logger, counts, period_s=5.0, clock=lambda: now[0])
    log.log("a", "first")
    log.log("a", "again")  # same period: dropped
    log.log("b", "other", error=True)
    now[0] = 5.0
    log.log("a", "later")
    log.mark("b")  # logged in full elsewhere: the next line of b waits a period
    log.log("b", "dropped", error=True)
    assert logger.lines == [
        ("warning", "first [3 so far]"),
        ("error", "other [1 so far]"),
        ("warning", "later [3 so far]"),
    ]


def _guard() -> tuple[CallbackGuard, DiagnosticsAggregator, Logger]:
    diag, logger = DiagnosticsAggregator(), Logger()
    return CallbackGuard(diag, logger, ThrottledLog(logger, diag.counters), "test"), diag, logger


def test_guard_counts_the_unsettled_message_and_logs_the_traceback_once():
    guard, diag, logger = _guard()

    def fails_half_way(stream: str) -> None:
        guard.receive(stream)
        raise RuntimeError("a bug")

    def settles_then_fails() -> None:
        guard.receive("tx_fix")
        diag.count("tx_fix.accepted")
        guard.settle("tx_fix")
        raise KeyError("after the accounting")

    image, fix = guard.wrap("image", fails_half_way), guard.wrap("tx_fix", settles_then_fails)
    image("images")
    image("images")  # same callback and type: throttled, no second traceback
    image("rx_fix")
    fix()
    c = diag.counters
    assert c["internal_errors.image"] == 3 and c["internal_errors.tx_fix"] == 1
    assert c["images.skipped.internal_error"] == 2 and c["rx_fix.rejected.internal_error"] == 1
    assert "tx_fix.rejected.internal_error" not in c  # it was accounted for before the error
    assert all(left == right for left, right in identities(diag.snapshot(0.0).as_dict()).values())
    tracebacks = [text for _, text in logger.lines if "Traceback" in text]
    assert len(tracebacks) == 2 and all(level == "error" for level, _ in logger.lines)


def test_guard_survives_a_failing_logger(caplog):
    diag = DiagnosticsAggregator()

    class Broken(Logger):
        def error(self, text: str) -> None:
            raise OSError("no /rosout")

    logger = Broken()
    guard = CallbackGuard(diag, logger, ThrottledLog(logger, diag.counters), "test_guard")
    guard.wrap("timer", lambda: 1 / 0)()
    assert diag.counters["internal_errors.timer"] == 1
    assert "internal error in the timer callback, not logged" in caplog.text


def test_guard_attempt_answers_with_the_fallback_and_lets_the_callers_mistakes_through():
    guard, diag, logger = _guard()
    assert guard.attempt("set_parameters", lambda: "set", lambda exc: "failed") == "set"
    answer = guard.attempt("set_parameters", lambda: {}["missing"], lambda exc: f"failed: {exc!r}")
    assert answer == "failed: KeyError('missing')" and diag.counters["internal_errors.set_parameters"] == 1
    assert any("Traceback" in text for _, text in logger.lines)

    def callers_mistake() -> str:
        raise LookupError("not declared")

    with pytest.raises(LookupError):
        guard.attempt("set_parameters", callers_mistake, lambda exc: "failed", passes=(LookupError,))
    assert diag.counters["internal_errors.set_parameters"] == 1


def test_whole_call_reports_set_but_not_applied_parameters_as_failed():
    call = WholeCall(lambda deferred: "parameters set but not applied: a bug" if deferred else None)

    def set_one(p: Parameter) -> SetParametersResult:
        call.defer()
        return SetParametersResult(successful=acceptable(p), reason="" if acceptable(p) else "read-only")

    params = [Parameter("sync.max_wait_s", value=0.5), Parameter("qos.image.depth", value=5)]
    results = call.run(params, set_one)
    assert [(r.successful, r.reason) for r in results] == [
        (False, "parameters set but not applied: a bug"),
        (False, "read-only"),  # refused on its own: its own reason stays
    ]


def test_whole_call_judges_acceptable_values_together_and_applies_once():
    ends: list[bool] = []

    def on_end(deferred: bool) -> None:
        ends.append(deferred)

    call = WholeCall(on_end)
    seen: list[dict] = []

    def set_one(p: Parameter) -> SetParametersResult:
        seen.append(dict(call.values))
        if p.name == "sync.max_wait_s":
            call.defer()
        return SetParametersResult(successful=acceptable(p))

    params = [
        Parameter("tx_selection.mode", value="projection"),
        Parameter("sync.max_wait_s", value=1),  # a whole number for a float: acceptable
        Parameter("qos.image.depth", value=5),  # read-only: not part of the judged values
    ]
    results = call.run(params, set_one)
    assert [r.successful for r in results] == [True, True, False]
    assert seen[0] == {"tx_selection.mode": "projection", "sync.max_wait_s": 1.0} == seen[2]
    assert ends == [True] and not call.active
    call.run([Parameter("tx_selection.mode", value="flag")], set_one)
    assert ends == [True, False]  # nothing deferred: nothing to apply


def test_start_up_values_as_declared_and_one_line_problems():
    assert as_declared(Parameter("rx.latitude", value=33)).value == 33.0
    same = Parameter("rx.latitude", value=33.5)
    assert as_declared(same) is same
    spec = SPECS["sync.max_pending"]
    line = startup_problem(spec, Parameter(spec.name, value="many"), TypeError("refused"))
    assert line == "parameter sync.max_pending: sync.max_pending must be a int, got str"
    assert startup_problem(spec, None, TypeError("refused")) == "parameter sync.max_pending: refused"


def test_detections_type_choice_and_vision_msgs_fallback(monkeypatch):
    from rssi_ros.ros import inputs

    assert choose_detections(False, "vision_msgs") == (None, "disabled", None)
    chosen, source, problem = choose_detections(True, "rssi_ros_msgs")
    assert source == "rssi_ros_msgs/DetectionArray" and not chosen.vision and problem is None
    monkeypatch.setattr(inputs, "VISION_MSGS_MODULE", "vision_msgs_not_installed.msg")
    chosen, source, problem = choose_detections(True, "vision_msgs")
    assert chosen is None and source.startswith("unavailable") and "running without detections" in problem


def test_large_image_hint_only_for_raw_images_over_fast_dds():
    assert large_image_hint(True, {}) is not None
    assert large_image_hint(False, {}) is None
    assert large_image_hint(True, {FASTDDS_PROFILE_ENV: "/x.xml"}) is None
    assert large_image_hint(True, {"RMW_IMPLEMENTATION": "rmw_cyclonedds_cpp"}) is None


def test_model_loader_errors_are_text_and_staging_is_per_model_key(tmp_path, monkeypatch):
    logger = Logger()
    loader = ModelLoader(0, logger)
    values = {"checkpoint": "", "backend": "auto", "device": "cpu"}
    assert loader.load(values) == (None, "")  # no checkpoint: no model, no error
    missing = {**values, "checkpoint": str(tmp_path / "none.pt")}
    predictor, error = loader.load(missing)
    assert predictor is None and error.startswith("cannot load model")
    default = object()
    loads: list[dict] = []
    real_load = loader.load
    monkeypatch.setattr(loader, "load", lambda v: (loads.append(v), real_load(v))[1])
    assert loader.load_once(values, stage=True) == (None, "")  # "no model" can be staged too
    assert loader.staged(values, default) is None
    assert loader.staged({**values, "device": "cuda"}, default) is default
    # A failure is staged as well: the same key answers the same error without loading again,
    # but it is no model to install.
    assert loader.load_once(missing, stage=True) == (None, error)
    assert loader.load_once(missing, stage=True) == (None, error) and len(loads) == 2
    assert loader.staged(missing, default) is default
    loader.unstage()
    assert loader.staged(missing, default) is default
    loader.load_once(missing, stage=False)
    loader.load_once(missing, stage=False)  # outside a call nothing is kept
    assert len(loads) == 4


@pytest.mark.parametrize("name", ["sync.max_wait_s", "qos.image.depth", "not.declared"])
def test_acceptable_means_declared_writable_and_valid(name):
    value = 0.2 if name == "sync.max_wait_s" else 5
    assert acceptable(Parameter(name, value=value)) is (name == "sync.max_wait_s")
