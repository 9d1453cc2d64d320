"""The parameter table on the rclpy side: descriptors, declaration, coercion, whole-call sets.

The table itself (names, defaults, ranges, `Settings`) is `config`; this module is what rclpy
needs around it. `declare` turns whole numbers given at start-up for float parameters into floats
and refuses any other value rclpy cannot declare with one line (`ParameterError`); `coerce` does
the same conversion at run time (a pre-set callback); `WholeCall` and `route_service` make one
non-atomic set (`set_parameters`, the ~/set_parameters service) judged as a whole. No graph is
needed: these work on `Parameter` objects and take the node where they touch it.

A set runs in the caller's thread or in a service callback of the executor: an exception escaping
it would end `spin`, and the node. The service handler runs inside the node's `CallbackGuard`
(`SET_PARAMETERS` names it in `internal_errors.*`) and answers failed results with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rcl_interfaces.srv import SetParameters
from rclpy.exceptions import (
    InvalidParameterTypeException,
    InvalidParameterValueException,
    ParameterNotDeclaredException,
)
from rclpy.node import Node
from rclpy.parameter import Parameter

from rssi_ros.ros.config import PARAMETERS, SPECS, ParamSpec, as_declared_type
from rssi_ros.ros.guard import CallbackGuard

# The callback name of parameter sets in `internal_errors.<callback>`.
SET_PARAMETERS = "set_parameters"


class ParameterError(ValueError):
    """A start-up parameter value that cannot be declared; the text is one line naming the parameter."""


def as_declared(param: Parameter) -> Parameter:
    """`param` with a whole number for a float parameter turned into a float (see `as_declared_type`)."""
    value = as_declared_type(param.name, param.value)
    return param if type(value) is type(param.value) else Parameter(param.name, value=value)


def coerce(params: list[Parameter]) -> list[Parameter]:
    """Pre-set callback: `ros2 param set ... sync.max_wait_s 1` means 1.0 (rclpy checks types after)."""
    return [as_declared(p) for p in params]


def failed(reason: str) -> SetParametersResult:
    """A refused parameter: rclpy's result type, so clients read the reason as for any refusal."""
    return SetParametersResult(successful=False, reason=reason)


def internal_failure(exc: Exception) -> str:
    """The reason a client reads when a set failed on a bug, not on its values."""
    return f"internal error while setting parameters (a bug; see the node's log): {type(exc).__name__}: {exc}"


def acceptable(param: Parameter) -> bool:
    """Declared here, writable, and of the right type and range: rclpy will not refuse it alone."""
    spec = SPECS.get(param.name)
    return spec is not None and not spec.read_only and spec.validate(param.value) is None


def descriptor(spec: ParamSpec) -> ParameterDescriptor:
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


def startup_problem(spec: ParamSpec, given: Parameter | None, exc: Exception) -> str:
    """One line for a start-up value rclpy refused to declare."""
    if given is None:
        return f"parameter {spec.name}: {exc}"
    value = given.value
    problem = spec.validate(value) or str(exc)
    if type(spec.default) is float and type(value) is int:
        problem += f" (write {value}.0)"
    return f"parameter {spec.name}: {problem}"


def declare(node: Node) -> None:
    """Declare the table's parameters on `node`; whole numbers given for float parameters become floats.

    rclpy keeps the start-up values (-p, --params-file, launch) in `Node._parameter_overrides`
    (no public accessor in Jazzy) and refuses an integer there for a parameter declared as
    double (InvalidParameterTypeException): `-p rx.latitude:=33` would kill the node. Such
    values are converted in place before declaring; any other value rclpy refuses raises
    `ParameterError`, one line naming the parameter (predictor_main prints it and exits).
    """
    overrides = getattr(node, "_parameter_overrides", None)
    overrides = overrides if isinstance(overrides, dict) else {}
    for spec in PARAMETERS:
        given = overrides.get(spec.name)
        if isinstance(given, Parameter):
            overrides[spec.name] = as_declared(given)
        try:
            node.declare_parameter(spec.name, spec.default, descriptor(spec))
        except (InvalidParameterTypeException, InvalidParameterValueException) as exc:
            raise ParameterError(startup_problem(spec, overrides.get(spec.name), exc)) from exc


class WholeCall:
    """One non-atomic set call, its parameters judged together; `on_end(deferred)` runs after it.

    A combination such as tx_selection.mode=projection + tx_selection.camera_yaml is valid only
    as a whole, but rclpy sets (and validates) a call's parameters one by one. While `run` is in
    progress, `values` holds the acceptable values of the whole call (`acceptable`: rclpy will not
    refuse them alone), which the on-set callback adds to the current values before judging, and
    `defer` postpones applying to `on_end`, once for the whole call. `on_end` returns why applying
    failed, or None: the parameters rclpy had set are then reported failed with that reason, so
    the caller learns that its values are set but do not run.
    """

    def __init__(self, on_end: Callable[[bool], str | None]) -> None:
        self._on_end = on_end
        self.values: dict[str, Any] | None = None  # while a call runs; else None
        self._deferred = False

    @property
    def active(self) -> bool:
        return self.values is not None

    def defer(self) -> None:
        """An accepted change is applied at the end of the call (`on_end(True)`), not now."""
        self._deferred = True

    def run(
        self, params: list[Parameter], set_one: Callable[[Parameter], SetParametersResult]
    ) -> list[SetParametersResult]:
        """Set `params` one by one with `set_one` (rclpy's non-atomic semantics), judged as a whole."""
        if self.values is not None:  # re-entered while a call runs: part of that call
            return [set_one(p) for p in params]
        coerced = [as_declared(p) for p in params]
        self.values = {p.name: p.value for p in coerced if acceptable(p)}
        try:
            results = [set_one(p) for p in params]
        finally:
            self.values = None
            deferred, self._deferred = self._deferred, False
            problem = self._on_end(deferred)
        if problem is None:
            return results
        return [failed(problem) if r.successful else r for r in results]


def route_service(node: Node, call: WholeCall, guard: CallbackGuard) -> None:
    """Send ~/set_parameters requests (ros2 param set/load, parameter clients) through `call`.

    rclpy's own handler sets a request's parameters one by one, each without sight of the
    others, so `ros2 param load` of a file with `tx_selection.mode: projection` listed before
    `tx_selection.camera_yaml` would refuse the mode. The handler is swapped for one that
    keeps rclpy's per-parameter results but judges the request as a whole, inside `guard`: an
    exception fails every parameter of the request with the reason instead of ending the node.
    """

    def one(param: Parameter) -> SetParametersResult:
        try:
            return node.set_parameters_atomically([param])
        except ParameterNotDeclaredException as exc:
            return SetParametersResult(successful=False, reason=str(exc))

    def run(request: Any) -> list[SetParametersResult]:
        return call.run([Parameter.from_parameter_msg(m) for m in request.parameters], one)

    def handle(request: Any, response: Any) -> Any:
        response.results = guard.attempt(
            SET_PARAMETERS,
            lambda: run(request),
            lambda exc: [failed(internal_failure(exc)) for _ in request.parameters],
        )
        return response

    for srv in node.services:
        if srv.srv_type is SetParameters and srv.srv_name.endswith("/set_parameters"):
            srv.callback = handle
