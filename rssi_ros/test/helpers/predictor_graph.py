"""A predictor node, a feeder and a listener in separate processes, for the DDS tests of the node.

Handshakes, not sleeps: the feeder says READY once its publishers matched the node's subscriptions
(the node only subscribes when active), then publishes probe frames until the listener here has
received an estimate of one, which proves the whole path node <- feeder and node -> test is live.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from helpers.ros import HELPERS, child_env

NS = 1_000_000_000
ESTIMATE_TOPIC = "/rssi_predictor/estimate"
# The shipped Fast DDS profile (shared memory with a segment large enough for 960x540 rgb8 images):
# without it, raw frames fragment over loopback UDP and small messages queued behind them wait for
# reliable repair (seconds). Publishers of raw images need it; see docs/node.md.
FASTDDS_PROFILE = Path(__file__).resolve().parents[2] / "config" / "fastdds_large_images.xml"
LARGE_IMAGES_ENV = {"FASTRTPS_DEFAULT_PROFILES_FILE": str(FASTDDS_PROFILE)}


class LineProcess:
    """A child process whose stdout is read line by line in a thread (so its pipe never fills)."""

    def __init__(self, argv: Sequence[str], name: str, **env: str) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            list(argv),
            env=child_env(**env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.log.append(line.rstrip("\n"))
            self.lines.put(line.rstrip("\n"))

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, prefix: str, timeout: float, idle: Callable[[], Any] | None = None) -> str:
        """The next line starting with `prefix` (other lines are kept in `log`); fails with the log.

        `idle` is called while no line is there (e.g. to spin a listener that must not miss messages).
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.05) if idle is None else self.lines.get_nowait()
            except queue.Empty:
                if idle is not None:
                    idle()
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
        raise AssertionError(f"{self.name}: no line {prefix!r} within {timeout} s\n{self.output()}")

    def output(self) -> str:
        return "\n".join(self.log[-80:])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.output()


def start_node(
    tmp: Path, params: dict[str, Any], name: str = "node", ros_args: Sequence[str] = ()
) -> LineProcess:
    """`python -m rssi_ros predictor --ros-args --params-file <params> [ros_args]` (a user's command)."""
    path = tmp / f"{name}_params.yaml"
    path.write_text(yaml.safe_dump({"/**": {"ros__parameters": params}}))
    argv = [
        sys.executable,
        "-m",
        "rssi_ros",
        "predictor",
        "--ros-args",
        "--params-file",
        str(path),
        *ros_args,
    ]
    return LineProcess(argv, name, **LARGE_IMAGES_ENV)


def start_feeder(scene_csv: Path, *extra: str) -> LineProcess:
    argv = [sys.executable, str(HELPERS / "feeder.py"), str(scene_csv), *extra]
    return LineProcess(argv, "feeder", **LARGE_IMAGES_ENV)


NODE_NAME = "rssi_predictor"


class Status(NamedTuple):
    """One published status of a predictor node (the status name is "<node>: rssi estimator")."""

    node: str
    level: int
    message: str
    values: dict[str, str]


class Listener:
    """The test's own rclpy node: collects estimates and the diagnostics of each predictor node.

    `diagnostics` and `counter`/`total` without `node` are those of the node named rssi_predictor;
    `of[name]` holds the latest values of every node, `statuses` every status in arrival order.
    With `context` (an rclpy context the caller owns and shuts down) the listener lives beside
    in-process `nodes` and spins them with its own node; without, it makes its own context.
    """

    def __init__(
        self, estimate_topics: Sequence[str] = (), context: Any = None, nodes: Sequence[Any] = ()
    ) -> None:
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.executors import SingleThreadedExecutor

        from rssi_ros_msgs.msg import RssiEstimate

        self.rclpy = rclpy
        self._owns_context = context is None
        if context is None:
            context = rclpy.Context()
            rclpy.init(context=context)
        self.context = context
        self.node = rclpy.create_node("rssi_test_listener", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        for node in (self.node, *nodes):
            self.executor.add_node(node)
        self.statuses: list[Status] = []
        self._parameter_clients: dict[str, Any] = {}
        self.estimates: dict[int, Any] = {}
        self.all_estimates: list[Any] = []
        self.probes = 0
        self.of: dict[str, dict[str, str]] = {}
        self.levels: dict[str, int] = {}
        self.messages: dict[str, str] = {}
        self.estimates_on: dict[str, dict[int, Any]] = {t: {} for t in estimate_topics}
        self.node.create_subscription(RssiEstimate, ESTIMATE_TOPIC, self._on_estimate, 1000)
        for topic in estimate_topics:
            self.node.create_subscription(
                RssiEstimate,
                topic,
                lambda m, t=topic: self.estimates_on[t].__setitem__(_stamp_ns(m), m),
                1000,
            )
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 100)

    @property
    def diagnostics(self) -> dict[str, str]:
        return self.of.get(NODE_NAME, {})

    @property
    def diagnostic_level(self) -> int:
        return self.levels.get(NODE_NAME, -1)

    def _on_estimate(self, msg) -> None:
        if msg.header.frame_id == "probe":
            self.probes += 1
            return
        self.all_estimates.append(msg)
        self.estimates[msg.header.stamp.sec * NS + msg.header.stamp.nanosec] = msg

    def _on_diagnostics(self, msg) -> None:
        for status in msg.status:
            name, sep, _ = status.name.partition(": ")
            if sep:
                level = status.level[0] if isinstance(status.level, bytes) else int(status.level)
                values = {kv.key: kv.value for kv in status.values}
                self.of[name], self.levels[name], self.messages[name] = values, level, status.message
                self.statuses.append(Status(name, level, status.message, values))

    def next_status(
        self,
        where: Callable[[int, str, dict[str, str]], bool] = lambda level, message, values: True,
        timeout: float = 20.0,
        node: str = NODE_NAME,
    ) -> Status:
        """The first status of `node` arriving from now on that satisfies `where(level, message, values)`."""
        seen = len(self.statuses)

        def match() -> Status | None:
            fresh = (s for s in self.statuses[seen:] if s.node == node)
            return next((s for s in fresh if where(s.level, s.message, s.values)), None)

        recent = [(s.level, s.message) for s in self.statuses[-3:]]
        assert self.spin_until(lambda: match() is not None, timeout), f"no such status; last: {recent}"
        found = match()
        assert found is not None
        return found

    def counter(self, key: str, node: str = NODE_NAME) -> int:
        return int(self.of.get(node, {}).get(key, "0"))

    def total(self, prefix: str, node: str = NODE_NAME) -> int:
        return sum(int(v) for k, v in self.of.get(node, {}).items() if k.startswith(prefix))

    def spin_until(
        self, condition: Callable[[], bool], timeout: float, procs: Sequence[LineProcess] = ()
    ) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.05)
            if condition():
                return True
            for p in procs:
                if not p.alive():
                    raise AssertionError(f"{p.name} exited with {p.proc.returncode}:\n{p.output()}")
        return condition()

    def handshake(self, feeder: LineProcess, node: LineProcess, timeout: float = 90.0) -> None:
        """READY from the feeder, then probe frames until one estimate of them arrives here."""
        feeder.expect("READY", timeout)
        feeder.send("probe")
        seen = self.probes
        ok = self.spin_until(lambda: self.probes > seen, timeout, [node, feeder])
        feeder.send("stop")
        feeder.expect("PROBE_STOPPED", 10.0)
        assert ok, f"no estimate of a probe frame within {timeout} s\nnode:\n{node.output()}"

    def send_frames(self, feeder: LineProcess, command: str, timeout: float = 60.0) -> list[list[int]]:
        feeder.send(command)
        return json.loads(feeder.expect("SENT", timeout))

    def set_parameter(self, node_name: str, name: str, value: Any, timeout: float = 60.0):
        """Set one parameter of another node through its parameter service; its SetParametersResult."""
        from rclpy.parameter import Parameter

        return self.set_parameters(node_name, [Parameter(name, value=value)], timeout)[0]

    def set_parameters(self, node_name: str, params: Sequence[Any], timeout: float = 60.0) -> list[Any]:
        """One ~/set_parameters request of `params` (rclpy Parameters) to another node; its results."""
        from rclpy.parameter_client import AsyncParameterClient

        client = self._parameter_clients.get(node_name)
        if client is None:  # one per node: a new client would wait for discovery again
            client = self._parameter_clients[node_name] = AsyncParameterClient(self.node, node_name)
            assert client.wait_for_services(timeout_sec=timeout), f"no parameter services of {node_name}"
        future = client.set_parameters(list(params))
        names = [p.name for p in params]
        assert self.spin_until(future.done, timeout), f"set_parameters {names} timed out"
        return list(future.result().results)

    def close(self) -> None:
        """Stop spinning and remove the listener's node; the context too if the listener made it."""
        self.executor.shutdown()
        self.node.destroy_node()
        if self._owns_context:
            self.rclpy.try_shutdown(context=self.context)


def _stamp_ns(msg) -> int:
    return msg.header.stamp.sec * NS + msg.header.stamp.nanosec
