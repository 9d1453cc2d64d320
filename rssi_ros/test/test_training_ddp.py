"""Two-process data-parallel training with torchrun on the CPU (gloo): it trains and the ranks agree."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from helpers.model_samples import small_run_config, write_small_scene

from rssi_ros.model.checkpoint import load_checkpoint


@pytest.mark.slow
def test_torchrun_two_processes_train_and_ranks_agree(tmp_path):
    scene = write_small_scene(tmp_path / "scene")
    config = tmp_path / "train.yaml"
    small_run_config(config, scene.parent, tmp_path / "cache", stage1__epochs=2, stage2__epochs=2)
    out = tmp_path / "ddp"
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "rssi_ros",
        "train",
        "--config",
        str(config),
        "--out",
        str(out),
    ]
    proc = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2
    assert len(summary["rank_checksums"]) == 2 and summary["ranks_agree"] is True
    assert summary["epochs_run"] == 4
    best = load_checkpoint(out / "checkpoints" / "best.pt")
    assert best.provenance["world_size"] == 2
    assert best.metrics["test"]["rssi"]["n"] > 0
