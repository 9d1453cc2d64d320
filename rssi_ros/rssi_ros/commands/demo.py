"""`python -m rssi_ros demo`: the main job end to end on an embedded default (README command 1).

    1. scene     generate a DeepSense-format scene (images, boxes, GPS, 64-beam power)
    2. train     the two-stage trainer (config/train_synthetic.yaml, shortened by config/demo.yaml)
    3. evaluate  Table III/IV on the held-out test split, next to the trivial baselines
    4. export    ONNX, parity-checked against torch
    5. replay    a second scene (drives never seen) as a rosbag2, replayed with /clock into the
                 predictor node over DDS; every estimate must equal offline inference of the same model

Each step reuses its output when the settings that produced it did not change, so a second run
(or one after an interruption) only repeats what is needed; `--fresh` starts over. Everything
goes under `out` (default runs/demo): demo.json sums it up, replay.png shows the node at work.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rssi_ros.commands.demo_config import CONFIG_DIR, DEFAULT_CONFIG, DemoConfig, load_demo_config
from rssi_ros.settings import add_set_argument

log = logging.getLogger(__name__)

# The commands the demo chains (cli.py maps the same names; nothing imports cli.py).
COMMAND_MODULES = {
    "train": "rssi_ros.training.command",
    "evaluate": "rssi_ros.evaluation.command",
    "export": "rssi_ros.inference.export_command",
}
SETTINGS_FILE = ".demo_settings.json"
SCENE_NAME = "scenario100"
EXPORT_CHECK_SAMPLES = 32
NODE_START_TIMEOUT_S = 120.0
PLAYER_WAIT_SUBSCRIBERS_S = 60.0
STOP_TIMEOUT_S = 15.0
# replay.png: frames further apart than this (bag seconds) are not joined by a line.
PLOT_GAP_S = 2.0
REPLAY_TITLES = {
    "test": "the held-out test frames of its training scene",
    "new_scene": "a scene it never saw",
}
# The player may take this much longer than the bag's paced duration (start-up, subscriber match).
PLAYER_SLACK_S = PLAYER_WAIT_SUBSCRIBERS_S + 60.0
FASTDDS_PROFILE = CONFIG_DIR / "fastdds_large_images.xml"
PROFILE_ENV = "FASTRTPS_DEFAULT_PROFILES_FILE"


class DemoError(RuntimeError):
    """A step failed; the message says which and where its log is."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="demo YAML (config/demo.yaml)")
    add_set_argument(parser, "scene.frames=3000")
    parser.add_argument("--out", type=Path, help="output folder (default from the config: runs/demo)")
    parser.add_argument("--fresh", action="store_true", help="delete the output folder first")
    parser.add_argument(
        "--skip-replay", action="store_true", help="stop after the export (no ROS graph needed)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (logs only)")


def run(args: argparse.Namespace) -> int:
    try:
        config = load_demo_config(args.config, args.overrides)
    except (ValueError, OSError) as exc:
        log.error("demo: %s", exc)
        return 2
    out = Path(args.out or config.out)
    if args.fresh and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    demo = Demo(config, out, progress=not args.no_progress)
    try:
        summary = demo.run(replay=not args.skip_replay)
    except DemoError as exc:
        log.error("demo failed: %s", exc)
        return 1
    print_summary(summary)
    return 0 if summary.get("ok", False) else 1


def _reuse(folder: Path, settings: dict[str, Any], done: Path) -> bool:
    """True when `done` exists and was made with these settings; otherwise clear `folder` for a redo."""
    marker = folder / SETTINGS_FILE
    if done.exists() and marker.is_file() and json.loads(marker.read_text()) == settings:
        return True
    if folder.exists():
        shutil.rmtree(folder)
    return False


def _mark(folder: Path, settings: dict[str, Any]) -> None:
    (folder / SETTINGS_FILE).write_text(json.dumps(settings, indent=2, sort_keys=True))


class Demo:
    """The five steps; each returns what the summary needs."""

    def __init__(self, config: DemoConfig, out: Path, progress: bool = True) -> None:
        self.config = config
        self.out = out
        self.progress = progress
        self.summary: dict[str, Any] = {"config": asdict(config), "out": str(out), "steps": {}}
        self._t0 = time.perf_counter()

    def _step(self, n: int, name: str, what: str) -> float:
        print(f"\n=== [{n}/5] {name}: {what}", flush=True)
        return time.perf_counter()

    def _done(self, name: str, t: float, **info: Any) -> None:
        seconds = time.perf_counter() - t
        self.summary["steps"][name] = {"seconds": round(seconds, 1), **info}
        print(f"=== {name} done in {seconds:.0f} s", flush=True)

    def _cli(self, argv: list[str], what: str) -> None:
        """Run one offline command in this process, exactly as `python -m rssi_ros ARGV` would."""
        module = importlib.import_module(COMMAND_MODULES[argv[0]])
        parser = argparse.ArgumentParser(prog=f"python -m rssi_ros {argv[0]}")
        module.add_arguments(parser)
        rc = module.run(parser.parse_args(argv[1:]))
        if rc:
            raise DemoError(f"{what} exited with {rc} (command: python -m rssi_ros {' '.join(argv)})")

    def run(self, replay: bool = True) -> dict[str, Any]:
        scene = self.scene()
        checkpoint = self.train(scene)
        self.evaluate(checkpoint)
        model = self.export(checkpoint, scene)
        if replay:
            self.replay(model, scene)
        else:
            print("\n=== [5/5] replay: skipped (--skip-replay)")
        self.summary["ok"] = all(s.get("ok", True) for s in self.summary["steps"].values())
        self.summary["seconds"] = round(time.perf_counter() - self._t0, 1)
        (self.out / "demo.json").write_text(json.dumps(self.summary, indent=2, default=float))
        return self.summary

    # 1 -------------------------------------------------------------------------------------------
    def scene(self) -> Path:
        s = self.config.scene
        folder = self.out / "scene"
        csv = folder / f"{SCENE_NAME}.csv"
        t = self._step(1, "scene", f"{s.frames} frames, seed {s.seed} -> {folder}")
        settings = asdict(s)
        if _reuse(folder, settings, csv):
            print(f"reusing {csv} (same settings)")
        else:
            self._generate(folder, s.frames, s.seed, s.overrides)
            _mark(folder, settings)
        self._done("scene", t, csv=str(csv), **self._noise(folder))
        return folder

    def _generate(self, folder: Path, frames: int, seed: int, overrides: list[str]) -> Path:
        from rssi_ros.data.synth.config import load_config
        from rssi_ros.data.synth.generator import generate_scene

        try:
            config = load_config(None, overrides)
            return generate_scene(folder, config, frames=frames, seed=seed, progress=self.progress)
        except (ValueError, OSError) as exc:
            raise DemoError(f"scene generation: {exc}") from exc

    @staticmethod
    def _noise(folder: Path) -> dict[str, Any]:
        import yaml

        doc = yaml.safe_load((folder / "scenario.yaml").read_text()) or {}
        return {"irreducible_noise_db": doc.get("irreducible_noise_db")}

    # 2 -------------------------------------------------------------------------------------------
    def train(self, scene: Path) -> Path:
        c = self.config.train
        folder = self.out / "train"
        best = folder / "checkpoints" / "best.pt"
        t = self._step(2, "train", f"{c.config} {' '.join(c.overrides)}")
        settings = {"train": asdict(c), "scene": asdict(self.config.scene)}
        if _reuse(folder, settings, folder / "summary.json"):
            print(f"reusing {best} (same settings)")
        else:
            argv = ["train", *c.overrides, "--config", str(self.config.train_config_path())]
            argv += ["--data", str(scene), "--out", str(folder)]
            self._cli(argv + ([] if self.progress else ["--no-progress"]), "training")
            _mark(folder, settings)
        summary = json.loads((folder / "summary.json").read_text())
        self._done("train", t, checkpoint=str(best), model=summary.get("model"))
        return best

    # 3 -------------------------------------------------------------------------------------------
    def evaluate(self, checkpoint: Path) -> None:
        folder = self.out / "eval"
        t = self._step(3, "evaluate", "test split, Table III and IV, baselines beside")
        self._cli(
            ["evaluate", "--checkpoint", str(checkpoint), "--no-interference", "--out", str(folder)],
            "evaluation",
        )
        report = json.loads((folder / "evaluation.json").read_text())
        self._done(
            "evaluate",
            t,
            n=report["n"],
            rssi=report["rssi"],
            pl=report["pl"],
            sh=report["sh"],
            no_interference=report.get("no_interference"),
            baselines={b["predictor"]: b["rmse"] for b in report.get("baselines", [])},
            plots=str(folder),
        )

    # 4 -------------------------------------------------------------------------------------------
    def export(self, checkpoint: Path, scene: Path) -> Path:
        path = self.out / "model.onnx"
        t = self._step(4, "export", f"ONNX with a parity check -> {path}")
        argv = ["export", "--checkpoint", str(checkpoint), "--out", str(path), "--data", str(scene)]
        self._cli([*argv, "--check-samples", str(EXPORT_CHECK_SAMPLES)], "export")
        meta = json.loads(path.with_name(path.name + ".json").read_text())
        self._done("export", t, onnx=str(path), parity=meta.get("parity"))
        return path

    # 5 -------------------------------------------------------------------------------------------
    def replay(self, model: Path, scene: Path) -> None:
        r = self.config.replay
        where = "test split of the scene" if r.source == "test" else "a new scene"
        t = self._step(5, "replay", f"{where} as a {r.storage} bag -> predictor node over DDS")
        try:
            import rclpy  # noqa: F401
        except ImportError as exc:
            raise DemoError(f"replay needs rclpy ({exc}); run `make setup` or use --skip-replay") from exc
        samples = self._test_samples(scene) if r.source == "test" else self._new_scene_samples()
        bag = self._write_bag(samples[: r.frames])
        result = self._run_graph(model, bag)
        self._done("replay", t, source=r.source, **result)

    def _test_samples(self, scene: Path) -> list:
        """The held-out test frames of the training scene, in time order (the model never trained on them)."""
        from rssi_ros.data.readers import read_dataset
        from rssi_ros.data.splits import Split
        from rssi_ros.evaluation.selection import labelled

        samples = labelled(read_dataset(scene / f"{SCENE_NAME}.csv").samples)
        split = Split.from_json(self.out / "train" / "split.json", samples)
        return sorted(split.select(samples, "test"), key=lambda s: s.stamp)

    def _new_scene_samples(self) -> list:
        """A scene with another seed: other drives, and another site (its shadowing field differs)."""
        from rssi_ros.data.readers import read_dataset

        r = self.config.replay
        folder = self.out / "replay_scene"
        seed = self.config.scene.seed + r.seed_offset
        settings = {"frames": r.frames, "seed": seed, "overrides": self.config.scene.overrides}
        if not _reuse(folder, settings, folder / f"{SCENE_NAME}.csv"):
            self._generate(folder, r.frames, seed, self.config.scene.overrides)
            _mark(folder, settings)
        return read_dataset(folder / f"{SCENE_NAME}.csv").samples

    def _write_bag(self, samples: list) -> Path:
        from rssi_ros.bags.frames import FrameOptions
        from rssi_ros.bags.writer import BagOptions, write_bag

        bag = self.out / "replay_bag"
        if bag.exists():
            shutil.rmtree(bag)
        options = BagOptions(storage=self.config.replay.storage, frames=FrameOptions(compressed=True))
        summary = write_bag(samples, bag, options, progress=self.progress)
        print(f"wrote {bag}: {summary.frames} frames")
        return bag

    def _run_graph(self, model: Path, bag: Path) -> dict[str, Any]:
        import yaml

        from rssi_ros.bags.reader import bag_to_samples
        from rssi_ros.inference.predictor import Predictor
        from rssi_ros.ros.collector import EstimateCollector

        r = self.config.replay
        samples = bag_to_samples(bag)
        stamps = [s.extras["stamp_ns"] for s in samples]
        offline = Predictor.load(model).predict_batch(samples)
        params = {"checkpoint": str(model.resolve()), **r.node_parameters}
        params_file = self.out / "node_params.yaml"
        params_file.write_text(yaml.safe_dump({"/**": {"ros__parameters": params}}))
        env = {**os.environ, "PYTHONUNBUFFERED": "1", PROFILE_ENV: str(FASTDDS_PROFILE)}
        node_log, player_log = self.out / "node.log", self.out / "player.log"
        collector = EstimateCollector()
        node = player = None
        try:
            node = _spawn(["predictor", "--ros-args", "--params-file", str(params_file)], node_log, env)
            print(
                f"predictor node started (pid {node.pid}, log {node_log}); waiting for its estimate publisher"
            )
            if not collector.spin_until(
                lambda: collector.publisher_count() > 0, NODE_START_TIMEOUT_S, lambda: node.poll() is None
            ):
                raise DemoError(f"the predictor node did not come up; see {node_log}:\n{_tail(node_log)}")
            argv = ["bag", "play", str(bag), "--rate", str(r.rate), "--max-gap", str(r.max_gap_s)]
            player = _spawn([*argv, "--wait-subscribers", str(PLAYER_WAIT_SUBSCRIBERS_S)], player_log, env)
            seconds = _play_seconds(sorted(stamps), r.rate, r.max_gap_s)
            print(f"playing {bag} at {r.rate}x with /clock, about {seconds:.0f} s (log {player_log})")
            collector.spin_until(lambda: player.poll() is not None, seconds + PLAYER_SLACK_S, lambda: True)
            collector.spin_until(
                lambda: all(s in collector.estimates for s in stamps),
                r.timeout_s,
                lambda: node.poll() is None,
            )
            collector.spin_until(lambda: False, 1.5, lambda: True)  # one more diagnostics period
        finally:
            for proc in (player, node):
                if proc is not None:
                    _stop(proc)
            diagnostics = dict(collector.diagnostics)
            received = dict(collector.estimates)
            collector.close()
        return self._compare(samples, stamps, offline, received, diagnostics, model)

    def _compare(self, samples, stamps, offline, received, diagnostics, model: Path) -> dict[str, Any]:
        import numpy as np

        r = self.config.replay
        pairs = [
            (s, o, received[t]) for s, t, o in zip(samples, stamps, offline, strict=True) if t in received
        ]
        diffs = [abs(m.rssi_db - o.rssi_db) for _, o, m in pairs]
        worst = float(max(diffs)) if diffs else float("nan")
        truth = np.array([s.rssi_db for s, _, _ in pairs], dtype=float)
        node_rssi = np.array([m.rssi_db for _, _, m in pairs], dtype=float)
        rmse = float(np.sqrt(np.mean((node_rssi - truth) ** 2))) if pairs else float("nan")
        ok = len(pairs) == len(samples) and worst <= r.tolerance_db
        skipped = {
            k: int(v) for k, v in diagnostics.items() if k.startswith("images.skipped.") and v.isdigit()
        }
        title = f"predictor node on {REPLAY_TITLES.get(r.source, r.source)} ({model.name})"
        plot = _plot_replay(samples, stamps, received, self.out / "replay.png", title)
        if not ok:
            log.error(
                "replay: %d of %d frames answered, largest node-vs-offline difference %.2e dB "
                "(tolerance %.0e); skipped by reason: %s; node log %s",
                len(pairs),
                len(samples),
                worst,
                r.tolerance_db,
                skipped,
                self.out / "node.log",
            )
        per_frame = [
            {
                "stamp_ns": t,
                "true_rssi_db": s.rssi_db,
                "offline_rssi_db": o.rssi_db,
                "node_rssi_db": received[t].rssi_db if t in received else None,
                "node_tx_in_view": received[t].tx_in_view if t in received else None,
                "node_tx_selection": received[t].tx_selection if t in received else None,
                "offline_tx_in_view": o.tx_in_view,
                "node_num_boxes": received[t].num_boxes if t in received else None,
                "offline_num_boxes": o.num_boxes,
            }
            for s, t, o in zip(samples, stamps, offline, strict=True)
        ]
        (self.out / "replay_frames.json").write_text(json.dumps(per_frame, indent=1))
        return {
            "ok": ok,
            "frames": len(samples),
            "answered": len(pairs),
            "max_abs_diff_db": worst,
            "rssi_rmse_db": rmse,
            "skipped": skipped,
            "latency_ms_p50": diagnostics.get("latency_ms.p50"),
            "latency_ms_p99": diagnostics.get("latency_ms.p99"),
            "model_id": next(iter(received.values())).model_id if received else None,
            "plot": str(plot) if plot else None,
        }


def _play_seconds(stamps_ns: list[int], rate: float, max_gap_s: float) -> float:
    """Wall seconds the player takes for frames with these stamps (its own pacing rule)."""
    from rssi_ros.bags.player import Pacer

    pacer = Pacer(rate, max_gap_s)
    due = [pacer.due_s(t) for t in stamps_ns]
    return float(due[-1] or 0.0) if due else 0.0


def _spawn(argv: list[str], log_path: Path, env: dict[str, str]) -> subprocess.Popen:
    """`python -m rssi_ros ARGV` in its own process, output to a log file (a pipe could fill up)."""
    handle = log_path.open("w")
    return subprocess.Popen(
        [sys.executable, "-m", "rssi_ros", *argv], stdout=handle, stderr=subprocess.STDOUT, env=env
    )


def _stop(proc: subprocess.Popen) -> None:
    """SIGINT first (a ROS node shuts down cleanly on it), then kill."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.is_file() else ""


def _runs(stamps: list[int], gap_s: float) -> list[list[int]]:
    """Indices of `stamps` (sorted by time) split wherever consecutive frames are > gap_s apart."""
    order = sorted(range(len(stamps)), key=lambda i: stamps[i])
    runs: list[list[int]] = []
    for i in order:
        if runs and (stamps[i] - stamps[runs[-1][-1]]) / 1e9 <= gap_s:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _plot_replay(samples, stamps, received, path: Path, title: str) -> Path | None:
    """True RSSI and the node's RSSI and -PL over bag time, one line per stretch of close frames."""
    if not received:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = min(stamps)
    fig, ax = plt.subplots(figsize=(10, 4))
    for i, run in enumerate(_runs(stamps, PLOT_GAP_S)):
        rows = [(stamps[k], samples[k], received.get(stamps[k])) for k in run]
        x = [(t - t0) / 1e9 for t, _, _ in rows]
        label = (lambda name: name) if i == 0 else (lambda name: None)
        ax.plot(x, [s.rssi_db for _, s, _ in rows], color="black", lw=1.5, label=label("true RSSI"))
        answered = [(xx, m) for xx, (_, _, m) in zip(x, rows, strict=True) if m is not None]
        ax.plot(
            [a for a, _ in answered],
            [m.rssi_db for _, m in answered],
            ".",
            color="tab:blue",
            label=label("node RSSI = -(PL + SH)"),
        )
        ax.plot(
            [a for a, _ in answered],
            [-m.path_loss_db for _, m in answered],
            "--",
            color="tab:orange",
            lw=1,
            label=label("node -PL"),
        )
    ax.set_xlabel("bag time (s)")
    ax.set_ylabel("dB")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def print_summary(summary: dict[str, Any]) -> None:
    steps = summary["steps"]
    ev = steps.get("evaluate", {})
    rep = steps.get("replay", {})
    print("\n=== demo summary")
    if ev:
        rssi = ev["rssi"]
        print(
            f"test RSSI  RMSE {rssi['rmse']:.2f} dB  MAE {rssi['mae']:.2f} dB  "
            f"within 1 dB {rssi['within_1db']:.0%}"
            f"  (n={ev['n']}; PL RMSE {ev['pl']['rmse']:.2f}, SH RMSE {ev['sh']['rmse']:.2f})"
        )
        if ev.get("baselines"):
            print("baselines  " + ", ".join(f"{k} {v:.2f} dB" for k, v in ev["baselines"].items()))
        noise = steps.get("scene", {}).get("irreducible_noise_db")
        if noise is not None:
            print(f"scene's irreducible noise {noise:.2f} dB (no model can do better on average)")
    if rep:
        print(
            f"node       answered {rep['answered']}/{rep['frames']} replayed frames, RSSI RMSE "
            f"{rep['rssi_rmse_db']:.2f} dB, largest difference to offline inference "
            f"{rep['max_abs_diff_db']:.1e} dB"
        )
    print(f"files      {summary['out']}/ (demo.json, eval/, replay.png, model.onnx, replay_bag/)")
    print(f"result     {'OK' if summary.get('ok') else 'FAILED'} in {summary['seconds']:.0f} s")
