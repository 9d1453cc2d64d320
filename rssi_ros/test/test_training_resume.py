"""`--resume` after kill -9 gives bit-for-bit the same result as an uninterrupted run (CPU); a resume
that would change the results (another max_epochs, other data) is refused."""

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
from helpers.model_samples import make_samples, small_run_config, write_small_scene

from rssi_ros.model.checkpoint import load_checkpoint
from rssi_ros.training import trainer
from rssi_ros.training.config import load_config
from rssi_ros.training.trainer import train

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


class _InterruptedError(Exception):
    """Stands in for a kill after the last epoch was saved (last.pt holds an unfinished run)."""


def _interrupted_run(tmp_path: Path, monkeypatch, samples, *overrides: str) -> Path:
    """A position-only run whose every epoch is in last.pt but which never finished."""
    out = tmp_path / "run"

    def interrupt(self, state, provenance):
        raise _InterruptedError

    with monkeypatch.context() as m:
        m.setattr(trainer.Trainer, "_finish", interrupt)
        with pytest.raises(_InterruptedError):
            train(_resume_config(tmp_path, *overrides), out, samples=samples)
    return out


def _resume_config(tmp_path: Path, *overrides: str):
    base = [
        f"data.cache_root={tmp_path / 'cache'}",
        "progress=false",
        "threads=1",
        "model.modalities=[position]",
        "stage1.epochs=2",
        "stage1.batch_size=16",
        "stage2.enabled=false",
        "data.paths=[scene_a]",
    ]
    return load_config(None, [*base, *overrides])


def test_resume_refuses_a_changed_max_epochs(tmp_path, monkeypatch):
    samples = make_samples(40, seed=9, with_image=False, with_boxes=False)
    out = _interrupted_run(tmp_path, monkeypatch, samples)
    with pytest.raises(ValueError, match=r"differs from the interrupted run's in \['max_epochs'\]"):
        train(_resume_config(tmp_path, "max_epochs=1"), out, resume=True, samples=samples)


def test_resume_allows_moved_data_only_when_the_split_is_the_same(tmp_path, monkeypatch):
    samples = make_samples(40, seed=9, with_image=False, with_boxes=False)
    out = _interrupted_run(tmp_path, monkeypatch, samples)
    recorded = load_checkpoint(out / "checkpoints" / "last.pt").provenance["data"]["split"]["sha256"]
    other = make_samples(44, seed=10, with_image=False, with_boxes=False)
    moved = _resume_config(tmp_path, "data.paths=[scene_b]")
    with pytest.raises(ValueError, match=r"another split.*data\.paths \['scene_a'\] -> \['scene_b'\]"):
        train(moved, out, resume=True, samples=other)
    # Another setting in the data section is still refused outright.
    with pytest.raises(ValueError, match=r"\['data\.split_seed'\]"):
        train(_resume_config(tmp_path, "data.split_seed=3"), out, resume=True, samples=samples)
    # The same samples under another path: the same split, so the resume goes ahead.
    summary = train(moved, out, resume=True, samples=samples)
    assert summary["epochs_run"] == 2
    assert load_checkpoint(out / "checkpoints" / "best.pt").provenance["data"]["split"]["sha256"] == recorded
