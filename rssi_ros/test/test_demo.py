"""`python -m rssi_ros demo` (README command 1), shrunk to a few seconds of work per step.

The full-size demo is the same code with config/demo.yaml's sizes; here the scene is small and
training short, but every step runs for real: scene, train, evaluate, export, and the replay of a
bag into a predictor node over DDS whose estimates must equal offline inference.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rssi_ros.cli import COMMANDS
from rssi_ros.commands.demo import COMMAND_MODULES
from rssi_ros.commands.demo_config import DEFAULT_CONFIG, DemoConfig, load_demo_config

SMALL = [
    "--set",
    "scene.frames=60",
    "--set",
    "train.overrides=[stage1.epochs=2, stage2.enabled=false]",
    "--set",
    "replay.frames=12",
]


def _demo(out: Path, *extra: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "rssi_ros", "demo", "--out", str(out), "--no-progress", *SMALL, *extra]
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)


def test_demo_chains_the_same_command_modules_as_the_cli():
    for name, module in COMMAND_MODULES.items():
        assert COMMANDS[name].module == module


def test_shipped_config_equals_the_dataclass_defaults():
    doc = yaml.safe_load(DEFAULT_CONFIG.read_text())
    config = load_demo_config(DEFAULT_CONFIG)
    defaults = DemoConfig()
    assert config.scene == defaults.scene and config.train == defaults.train
    assert config.replay.frames == defaults.replay.frames
    assert config.replay.node_parameters == doc["replay"]["node_parameters"]
    assert config.train_config_path().is_file()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["scene.frame=10"], "scene.frame"),
        (["nosuch.key=1"], "nosuch"),
        (["scene.frames=5"], "at least 20"),
        (["replay.source=camera"], "replay.source"),
        (["replay.storage=zip"], "replay.storage"),
        (["scene"], "key.path=value"),
    ],
)
def test_bad_settings_are_refused_with_the_key_named(overrides, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        load_demo_config(DEFAULT_CONFIG, overrides)


def test_bad_setting_on_the_command_line_exits_2(tmp_path):
    result = _demo(tmp_path / "demo", "--set", "scene.frame=10")
    assert result.returncode == 2
    assert "scene.frame" in result.stderr


@pytest.mark.ros
@pytest.mark.slow
def test_demo_runs_end_to_end_and_the_node_equals_offline_inference(tmp_path):
    # Project requirements: a venv without them must fail here, not skip the main job's test.
    import onnxruntime  # noqa: F401
    import rclpy  # noqa: F401

    out = tmp_path / "demo"
    result = _demo(out)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    summary = json.loads((out / "demo.json").read_text())
    assert summary["ok"]
    steps = summary["steps"]
    assert set(steps) == {"scene", "train", "evaluate", "export", "replay"}
    replay = steps["replay"]
    test_size = steps["evaluate"]["n"]
    assert replay["frames"] == min(12, test_size) and replay["answered"] == replay["frames"]
    assert replay["max_abs_diff_db"] <= 1e-4
    # The node serves the test split: its RMSE is the evaluation's (same samples, same model).
    if replay["frames"] == test_size:
        assert replay["rssi_rmse_db"] == pytest.approx(steps["evaluate"]["rssi"]["rmse"], abs=1e-3)
    for name in ("model.onnx", "replay.png", "eval/evaluation.json", "eval/error_histogram.png"):
        assert (out / name).is_file(), name
    assert "result     OK" in result.stdout

    # A second run reuses the scene and the trained model (same settings) and redoes the rest.
    again = _demo(out, "--skip-replay")
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-4000:]
    assert again.stdout.count("(same settings)") == 2
    # Changed settings invalidate what depends on them.
    changed = _demo(out, "--skip-replay", "--set", "scene.seed=3")
    assert changed.returncode == 0, changed.stdout[-4000:] + changed.stderr[-4000:]
    assert "(same settings)" not in changed.stdout


def test_replay_plot_joins_only_frames_close_in_time():
    from rssi_ros.commands.demo import _runs

    s = 1_000_000_000
    stamps = [5 * s, 0, s // 10, 60 * s, 2 * s // 10, 61 * s]  # unsorted, three stretches
    assert _runs(stamps, 2.0) == [[1, 2, 4], [0], [3, 5]]
    assert _runs(stamps, 100.0) == [[1, 2, 4, 0, 3, 5]]
    assert _runs([], 2.0) == []
