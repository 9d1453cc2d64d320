"""`--resume` after kill -9 gives bit-for-bit the same result as an uninterrupted run (CPU)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers.model_samples import small_run_config, write_small_scene

from rssi_ros.model.checkpoint import load_checkpoint

# Kill once this many epochs are in the CSV (stage 1 has 4 epochs: this is inside stage 2).
KILL_AFTER_ROWS = 6
TOTAL_EPOCHS = 10
RUN_TIMEOUT_S = 240


def _train(config: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    return subprocess.Popen(
        [sys.executable, "-m", "rssi_ros", "train", "--config", str(config), "--out", str(out), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _rows(out: Path) -> list[dict]:
    path = out / "metrics.csv"
    if not path.is_file():
        return []
    with path.open() as f:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(f)]


def _finish(proc: subprocess.Popen) -> str:
    text, _ = proc.communicate(timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, text
    return text


@pytest.mark.slow
def test_resume_after_kill_9_equals_uninterrupted_run(tmp_path):
    scene = write_small_scene(tmp_path / "scene")
    config = tmp_path / "train.yaml"
    small_run_config(config, scene.parent, tmp_path / "cache")

    reference = tmp_path / "uninterrupted"
    _finish(_train(config, reference))

    interrupted = tmp_path / "interrupted"
    proc = _train(config, interrupted)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while len(_rows(interrupted)) < KILL_AFTER_ROWS:
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, "training made no progress"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    saved = load_checkpoint(interrupted / "checkpoints" / "last.pt").training_state["state"]
    assert KILL_AFTER_ROWS - 1 <= saved["global_epoch"] < TOTAL_EPOCHS, "the kill did not land mid-run"

    text = _finish(_train(config, interrupted, "--resume"))
    assert "resuming from" in text

    # Same per-epoch metrics (every digit written), same final weights and buffers, bit for bit.
    assert _rows(interrupted) == _rows(reference)
    assert len(_rows(reference)) == TOTAL_EPOCHS
    for name in ("best.pt", "last.pt"):
        a = load_checkpoint(reference / "checkpoints" / name)
        b = load_checkpoint(interrupted / "checkpoints" / name)
        assert a.state_dict.keys() == b.state_dict.keys()
        for key in a.state_dict:
            assert torch.equal(a.state_dict[key], b.state_dict[key]), f"{name}: {key} differs"
        assert a.metrics == b.metrics
    # Resuming a finished run does nothing and succeeds.
    _finish(_train(config, interrupted, "--resume"))
    assert len(_rows(interrupted)) == TOTAL_EPOCHS
