"""`python -m rssi_ros bench node`: the predictor node under a 30 fps camera stream, per backend.

For each backend the benchmark starts the node as its own process (the user's command line, the
shipped defaults: best-effort camera queue of 2, one inference thread), publishes 960x540 frames of
a generated scene with both fixes and detections at the camera rate for `--duration` seconds, and
measures from this process:

- sustained rate: estimates received per second over the measurement window;
- latency: image header stamp (set at publication) to the estimate's arrival here, p50/p99/max;
- frames dropped: published images without an estimate (stale frames the node's small queue
  dropped, or frames lost in transport);
- CPU: the node process's user+system time over the window, in % of one core (and this
  publisher's), plus the machine's load average, because on a shared machine it explains a lot.

Target on the 2-core development machine: 30 fps sustained, p99 <= 20 ms.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from rssi_ros.bench.report import table, write_json

log = logging.getLogger(__name__)

NS = 1_000_000_000
DEFAULT_FPS = 30.0
DEFAULT_DURATION_S = 60.0
WARMUP_S = 3.0
SCENE_FRAMES = 30
START_TIMEOUT_S = 120.0
PROFILE = Path(__file__).resolve().parents[2] / "config" / "fastdds_large_images.xml"
PROFILE_ENV = "FASTRTPS_DEFAULT_PROFILES_FILE"
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", type=Path, help="a .pt checkpoint (default: random weights)")
    parser.add_argument(
        "--backends", nargs="+", default=["torch", "onnxruntime"], choices=["torch", "onnxruntime"]
    )
    parser.add_argument("--duration", type=float, default=DEFAULT_DURATION_S, help="seconds per backend")
    parser.add_argument("--fps", type=float, default=DEFAULT_FPS, help="camera rate")
    parser.add_argument("--transport", choices=["raw", "compressed"], default="raw")
    parser.add_argument("--threads", type=int, default=1, help="the node's `threads` parameter")
    parser.add_argument("--scene", type=Path, help="a generated scene's CSV (default: generate one)")
    parser.add_argument(
        "--fastdds-profile",
        default=str(PROFILE),
        help="Fast DDS XML profile of both processes; 'none' = Fast DDS defaults (why the profile exists)",
    )
    parser.add_argument("--json", type=Path, default=None, help="output JSON (default runs/bench/node.json)")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _prepare(args: argparse.Namespace, tmp: Path) -> tuple[list, dict[str, Path]]:
    """Encoded frames of a scene, and the model file per backend."""
    from rssi_ros.bags.frames import FrameEncoder, FrameOptions
    from rssi_ros.data.readers import read_dataset

    csv = args.scene
    if csv is None:
        from rssi_ros.data.synth import generate_scene

        csv = generate_scene(tmp / "scene", frames=SCENE_FRAMES, seed=0)
    samples = read_dataset(csv).samples
    encoder = FrameEncoder(
        FrameOptions(compressed=args.transport == "compressed", ground_truth=False, clock=False)
    )
    frames = [encoder.encode(s, 1) for s in samples]

    ckpt = args.checkpoint
    if ckpt is None:
        from rssi_ros.model.checkpoint import write_random_checkpoint

        ckpt = write_random_checkpoint(tmp / "random.pt", seed=0)
    models = {"torch": ckpt}
    if "onnxruntime" in args.backends:
        from rssi_ros.inference.onnx_export import export_checkpoint, write_export
        from rssi_ros.model.checkpoint import load_checkpoint

        models["onnxruntime"] = write_export(tmp / "model.onnx", *export_checkpoint(load_checkpoint(ckpt)))
    return frames, models


class _Stream:
    """The publishing side: a camera, two GPS receivers and a detector, all in this process."""

    def __init__(self, node, frames: list, compressed: bool) -> None:
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import CompressedImage, Image, NavSatFix

        from rssi_ros.bags.topics import BagTopics
        from rssi_ros_msgs.msg import DetectionArray, RssiEstimate

        topics = BagTopics()
        image_topic = topics.image_topic(compressed)
        self.frames = frames
        self.pubs = {
            image_topic: node.create_publisher(
                CompressedImage if compressed else Image, image_topic, qos_profile_sensor_data
            ),
            topics.rx_fix: node.create_publisher(NavSatFix, topics.rx_fix, qos_profile_sensor_data),
            topics.tx_fix: node.create_publisher(NavSatFix, topics.tx_fix, qos_profile_sensor_data),
            topics.detections: node.create_publisher(DetectionArray, topics.detections, 10),
        }
        self.image_topic = image_topic
        self.lock = threading.Lock()
        self.arrivals: dict[int, int] = {}  # stamp -> arrival (ns, wall clock)
        self.diagnostics: dict[str, str] = {}
        node.create_subscription(RssiEstimate, "/rssi_predictor/estimate", self._on_estimate, 100)
        from diagnostic_msgs.msg import DiagnosticArray

        node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)

    def _on_estimate(self, msg) -> None:
        now = time.time_ns()
        with self.lock:
            self.arrivals[msg.header.stamp.sec * NS + msg.header.stamp.nanosec] = now

    def _on_diagnostics(self, msg) -> None:
        for status in msg.status:
            if status.name.startswith("rssi_predictor"):
                self.diagnostics = {kv.key: kv.value for kv in status.values}

    def matched(self) -> bool:
        return all(p.get_subscription_count() > 0 for p in self.pubs.values())

    def publish(self, k: int) -> int:
        """Frame k (cycling through the scene), stamped now; returns the stamp."""
        from rssi_ros.bags.frames import restamp

        stamp = time.time_ns()
        for m in self.frames[k % len(self.frames)]:
            self.pubs[m.topic].publish(restamp(m.data, stamp))
        return stamp

    def run(self, fps: float, duration: float) -> list[int]:
        """Publish on an absolute schedule (no drift); returns the stamps published."""
        stamps = []
        period = 1.0 / fps
        start = time.monotonic()
        k = 0
        while (due := start + k * period) < start + duration:
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            stamps.append(self.publish(k))
            k += 1
        return stamps


def _run_backend(backend: str, model: Path, frames: list, args: argparse.Namespace, tmp: Path) -> dict:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    env = dict(os.environ, PYTHONUNBUFFERED="1")
    argv = [
        sys.executable,
        "-m",
        "rssi_ros",
        "predictor",
        "--ros-args",
        "-p",
        f"checkpoint:={model}",
        "-p",
        f"backend:={backend}",
        "-p",
        f"threads:={args.threads}",
        "-p",
        f"camera.transport:={args.transport}",
    ]
    log_path = tmp / f"node_{backend}.log"
    with open(log_path, "w") as node_log:
        proc = subprocess.Popen(argv, env=env, stdout=node_log, stderr=subprocess.STDOUT)
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node(f"rssi_bench_{backend}", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    stream = _Stream(node, frames, args.transport == "compressed")
    spinning = threading.Event()
    spinning.set()

    def spin() -> None:
        while spinning.is_set():
            executor.spin_once(timeout_sec=0.05)

    spinner = threading.Thread(target=spin, daemon=True)
    spinner.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        k = 0
        while not stream.arrivals:  # handshake: frames until the first estimate comes back
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"the node did not answer within {START_TIMEOUT_S} s; see {log_path}")
            if stream.matched():
                stream.publish(k)
                k += 1
            time.sleep(0.1)
        stream.run(args.fps, WARMUP_S)
        time.sleep(0.5)
        with stream.lock:
            stream.arrivals.clear()
        load_before = os.getloadavg()
        cpu_node, cpu_self, t0 = _cpu_seconds(proc.pid), time.process_time(), time.monotonic()
        stamps = stream.run(args.fps, args.duration)
        window = time.monotonic() - t0
        cpu_node, cpu_self = _cpu_seconds(proc.pid) - cpu_node, time.process_time() - cpu_self
        time.sleep(1.0)  # the last estimates in flight
        rss = _rss_mb(proc.pid)
        diag = dict(stream.diagnostics)
    finally:
        spinning.clear()
        spinner.join(timeout=2.0)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
    with stream.lock:
        latencies = np.array([(stream.arrivals[s] - s) / 1e6 for s in stamps if s in stream.arrivals])
    answered = len(latencies)
    p50, p99, worst = (
        [*np.percentile(latencies, [50, 99]).tolist(), latencies.max()] if answered else [np.nan] * 3
    )
    return {
        "backend": backend,
        "fps_target": args.fps,
        "published": len(stamps),
        "answered": answered,
        "dropped": len(stamps) - answered,
        "rate_hz": answered / window,
        "latency_p50_ms": float(p50),
        "latency_p99_ms": float(p99),
        "latency_max_ms": float(worst),
        "node_cpu_pct": 100.0 * cpu_node / window,
        "publisher_cpu_pct": 100.0 * cpu_self / window,
        "node_rss_mb": rss,
        "node_processing_p50_ms": float(diag.get("latency_ms.p50", "nan")),
        "node_processing_p99_ms": float(diag.get("latency_ms.p99", "nan")),
        "load_average_1min_before": load_before[0],
        "load_average_1min_after": os.getloadavg()[0],
        "window_s": window,
        "node_counters": {
            k: int(v) for k, v in diag.items() if k.startswith(("images.", "tx_fix.", "detections."))
        },
        "node_log": str(log_path),
    }


def run(args: argparse.Namespace) -> int:
    # The publisher's Fast DDS profile is the one that counts for large messages (docs/node.md);
    # this process is the camera, so it loads the profile too (before rclpy starts).
    if args.fastdds_profile == "none":
        os.environ.pop(PROFILE_ENV, None)
    else:
        os.environ[PROFILE_ENV] = str(Path(args.fastdds_profile).resolve())
    with tempfile.TemporaryDirectory(prefix="rssi_bench_node_") as tmp_name:
        tmp = Path(tmp_name)
        frames, models = _prepare(args, tmp)
        rows = []
        for backend in args.backends:
            log.info(
                "backend %s: %s s at %s fps (%s images)", backend, args.duration, args.fps, args.transport
            )
            rows.append(_run_backend(backend, models[backend], frames, args, tmp))
            print(table([rows[-1]], COLUMNS), flush=True)
    print()
    print(table(rows, COLUMNS))
    target = {"rate_hz": args.fps, "latency_p99_ms": 20.0}
    settings = {
        "duration_s": args.duration,
        "fps": args.fps,
        "transport": args.transport,
        "threads": args.threads,
        "fastdds_profile": args.fastdds_profile,
        "image": "960x540 rgb8" if args.transport == "raw" else "960x540 JPEG",
        "checkpoint": str(args.checkpoint or "random weights"),
        "command": " ".join(["python -m rssi_ros bench node", *sys.argv[3:]]),
    }
    path = write_json("node", {"settings": settings, "target": target, "results": rows}, args.json)
    print(f"\nwrote {path}")
    return 0


COLUMNS = [
    "backend",
    "published",
    "answered",
    "dropped",
    "rate_hz",
    "latency_p50_ms",
    "latency_p99_ms",
    "latency_max_ms",
    "node_cpu_pct",
    "node_processing_p99_ms",
]
