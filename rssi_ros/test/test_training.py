"""Trainer: configuration, deterministic batching, schedule, loss, overfitting, outputs of a run."""

from __future__ import annotations

import csv
import json
import logging
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.model_samples import make_samples

from rssi_ros.evaluation.selection import limit_samples
from rssi_ros.model.checkpoint import load_checkpoint
from rssi_ros.model.config import ModelConfig
from rssi_ros.training.config import LossSection, StageConfig, TrainConfig, load_config
from rssi_ros.training.data import epoch_batches
from rssi_ros.training.distributed import RankAgreement, ranks_agree, state_checksum
from rssi_ros.training.loss import training_loss
from rssi_ros.training.trainer import lr_at, train

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"


def _small(tmp_path: Path, *overrides: str) -> TrainConfig:
    base = [
        "preprocess.image_size=32",
        f"data.cache_root={tmp_path / 'cache'}",
        "progress=false",
        "threads=1",
        "stage1.batch_size=16",
        "stage2.batch_size=8",
    ]
    return load_config(None, [*base, *overrides])


def test_defaults_are_the_papers_table_ii():
    cfg = TrainConfig()
    assert (cfg.stage1.epochs, cfg.stage1.batch_size, cfg.stage1.lr, cfg.stage1.freeze_encoder) == (
        100,
        128,
        5e-3,
        True,
    )
    assert (cfg.stage2.epochs, cfg.stage2.batch_size, cfg.stage2.lr, cfg.stage2.freeze_encoder) == (
        100,
        4,
        5e-4,
        False,
    )
    assert (cfg.loss.lambda_pl, cfg.loss.lambda_sh) == (0.5, 0.5)
    assert load_config(CONFIG_DIR / "train.yaml") == cfg


def test_shipped_configs_load():
    real = load_config(CONFIG_DIR / "train_real_position.yaml")
    assert real.model.modalities == ("position",) and real.data.protocol == "drive"
    synthetic = load_config(CONFIG_DIR / "train_synthetic.yaml")
    assert synthetic.model.modalities == ("position", "image", "boxes")


def test_overrides_keep_section_defaults_and_reject_typos():
    cfg = load_config(
        None, ["stage2.epochs=7", "model.pl_mode=analytic", "data.paths=[a, b]", "stage1.lr=1e-3"]
    )
    assert cfg.stage2.epochs == 7 and cfg.stage2.batch_size == 4 and cfg.stage2.lr == 5e-4
    assert cfg.stage1.lr == 1e-3 and cfg.model.pl_mode == "analytic" and cfg.data.paths == ["a", "b"]
    with pytest.raises(ValueError, match=r"unknown config key\(s\): stage1.epoch"):
        load_config(None, ["stage1.epoch=5"])
    with pytest.raises(ValueError, match="must be an integer"):
        load_config(None, ["stage1.epochs=five"])
    with pytest.raises(ValueError, match="pl_mode"):
        load_config(None, ["model.pl_mode=guess"])
    with pytest.raises(ValueError, match=r"key\.path=value"):
        load_config(None, ["stage1.epochs"])
    capped = load_config(None, ["max_epochs=3", "stage1.enabled=false"])
    assert [(n, s.epochs) for n, s in capped.stages()] == [("stage2", 3)]


def test_epoch_batches_are_deterministic_and_shard_evenly():
    idx = np.arange(10, 47)
    a = epoch_batches(idx, 8, seed=1, stage=0, epoch=3)
    assert a == epoch_batches(idx, 8, seed=1, stage=0, epoch=3)
    assert a != epoch_batches(idx, 8, seed=1, stage=0, epoch=4)
    assert sorted(i for b in a for i in b) == list(range(10, 47))  # 37 = 4*8 + 5: nothing dropped
    r0 = epoch_batches(idx, 8, seed=1, stage=0, epoch=3, rank=0, world_size=2)
    r1 = epoch_batches(idx, 8, seed=1, stage=0, epoch=3, rank=1, world_size=2)
    assert len(r0) == len(r1) and all(len(b) == 4 for b in r0[:-1])
    covered = {i for b in r0 + r1 for i in b}
    assert covered == set(range(10, 47))
    # A trailing batch of one sample is dropped (BatchNorm cannot train on it).
    assert all(len(b) >= 2 for b in epoch_batches(np.arange(9), 4, 0, 0, 0))


def test_cosine_and_step_schedules():
    cos = StageConfig(epochs=11, lr=1e-2, min_lr_ratio=0.01)
    assert lr_at(cos, 0) == pytest.approx(1e-2)
    assert lr_at(cos, 10) == pytest.approx(1e-4)
    assert lr_at(cos, 5) == pytest.approx((1e-2 + 1e-4) / 2)
    step = StageConfig(epochs=100, lr=1.0, schedule="step", step_epochs=30, gamma=0.1)
    assert [lr_at(step, e) for e in (0, 29, 30, 95)] == pytest.approx([1.0, 1.0, 0.1, 0.001])


def test_loss_follows_the_architecture():
    y = torch.tensor([[-50.0, 40.0, 10.0], [-60.0, 45.0, 15.0]])
    out = (torch.tensor([-51.0, -60.0]), torch.tensor([42.0, 45.0]), torch.tensor([9.0, 16.0]))
    w = LossSection(0.5, 0.5)
    assert training_loss(out, y, ModelConfig(), w).item() == pytest.approx(0.5 * 2.0 + 0.5 * 1.0)
    assert training_loss(out, y, ModelConfig(pl_mode="analytic"), w).item() == pytest.approx(0.5 * 1.0)
    assert training_loss(out, y, ModelConfig(architecture="brute_force"), w).item() == pytest.approx(0.5)


def test_limit_samples_spreads_over_the_data():
    samples = make_samples(100, with_image=False, with_boxes=False)
    picked = limit_samples(samples, 10)
    assert len(picked) == 10 and picked[0].index == 0 and picked[-1].index == 99


@pytest.mark.slow
def test_overfits_a_tiny_batch_to_near_zero_loss(tmp_path):
    """Eight samples, the full model trained end to end: the training loss must all but vanish."""
    cfg = _small(
        tmp_path,
        "stage1.enabled=false",
        "stage2.epochs=60",
        "stage2.batch_size=8",
        "stage2.lr=3e-3",
        "stage2.schedule=constant",
        "stage2.patience=0",
        "stage2.weight_decay=0.0",
        "data.fractions=[1.0, 0.0, 0.0]",
    )
    samples = make_samples(8, seed=1)
    summary = train(cfg, tmp_path / "run", samples=samples)
    with (tmp_path / "run" / "metrics.csv").open() as f:
        losses = [float(r["train_loss"]) for r in csv.DictReader(f)]
    labels_var = float(np.var([s.rssi_db for s in samples]))
    print(
        f"\noverfit: first loss {losses[0]:.3f} dB^2, last {losses[-1]:.5f} dB^2 "
        f"(label variance {labels_var:.2f})"
    )
    assert losses[0] > 0.5
    assert losses[-1] < 0.01
    assert summary["epochs_run"] == 60


@pytest.mark.slow
def test_run_writes_checkpoints_csv_split_and_provenance(tmp_path):
    cfg = _small(tmp_path, "stage1.epochs=3", "stage2.epochs=2", "model.box_encoder=cnn")
    samples = make_samples(48, seed=2)
    summary = train(cfg, tmp_path / "run", samples=samples)
    run = tmp_path / "run"
    for name in (
        "checkpoints/best.pt",
        "checkpoints/last.pt",
        "metrics.csv",
        "split.json",
        "config.yaml",
        "summary.json",
    ):
        assert (run / name).is_file(), name
    with (run / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [(r["stage"], r["epoch"]) for r in rows] == [
        ("1", "1"),
        ("1", "2"),
        ("1", "3"),
        ("2", "1"),
        ("2", "2"),
    ]
    best = load_checkpoint(run / "checkpoints" / "best.pt")
    assert best.model_config.box_encoder == "cnn"
    assert best.preprocess_config.image_size == 32
    assert best.provenance["data"]["split"]["protocol"] == "frame"
    assert best.provenance["config"]["stage2"]["batch_size"] == 8
    assert set(best.metrics["test"]) == {"rssi", "pl", "sh", "loss"}
    assert math.isfinite(summary["metrics"]["test"]["rssi"]["rmse"])
    assert best.training_state is None
    best_rmse = min(float(r["val_rssi_rmse"]) for r in rows)
    assert summary["monitor"] == "rssi_rmse"
    assert summary["best_val_monitor"] == pytest.approx(best_rmse, rel=1e-6)
    best_row = min(rows, key=lambda r: float(r["val_rssi_rmse"]))
    assert best.metrics["global_epoch"] == int(best_row["global_epoch"])
    split = json.loads((run / "split.json").read_text())
    assert len(split["train"]) + len(split["val"]) + len(split["test"]) == 48
    # The normaliser is fitted on the training split only.
    from rssi_ros.data.normalisation import MinMaxNormaliser
    from rssi_ros.physics.geodesy import relative_position

    train_samples = [samples[i] for i in split["train"]]
    rel = relative_position(
        *(np.array([getattr(s, f) for s in train_samples]) for f in ("rx_lat", "rx_lon", "tx_lat", "tx_lon"))
    )
    assert best.normaliser == MinMaxNormaliser.fit(rel.east_north)
    # A second run into the same folder without --resume is refused.
    with pytest.raises(FileExistsError, match="--resume"):
        train(cfg, run, samples=samples)


def test_modality_dropout_and_missing_modalities_train(tmp_path):
    cfg = _small(
        tmp_path,
        "stage1.epochs=2",
        "stage2.enabled=false",
        "modality_dropout.image=0.5",
        "modality_dropout.boxes=0.5",
    )
    samples = make_samples(24, seed=3) + make_samples(8, seed=4, with_image=False, with_boxes=False)
    for i, s in enumerate(samples):
        s.index = i
    summary = train(cfg, tmp_path / "run", samples=samples)
    assert math.isfinite(summary["best_val_monitor"])


def test_early_stopping_on_the_validation_loss(tmp_path):
    cfg = load_config(
        None,
        [
            f"data.cache_root={tmp_path / 'cache'}",
            "progress=false",
            "threads=1",
            "monitor=loss",
            "model.modalities=[position]",
            "stage1.epochs=30",
            "stage1.patience=2",
            "stage1.lr=0.05",
            "stage2.enabled=false",
        ],
    )
    summary = train(
        cfg, tmp_path / "run", samples=make_samples(40, seed=5, with_image=False, with_boxes=False)
    )
    with (tmp_path / "run" / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    losses = [float(r["val_loss"]) for r in rows]
    assert summary["best_val_monitor"] == pytest.approx(min(losses), rel=1e-6)
    # Stopped `patience` epochs after the best one (or ran out of epochs).
    best_at = losses.index(min(losses))
    assert len(rows) == 30 or len(rows) == best_at + 1 + 2
    with pytest.raises(ValueError, match="monitor"):
        load_config(None, ["monitor=accuracy"])


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["max_epochs=0"], "max_epochs"),
        (["stage1.enabled=false", "stage2.epochs=0"], "stage1/stage2"),
        (["loss.lambda_pl=-0.1"], "loss.lambda_pl"),
        (["loss.lambda_pl=0", "loss.lambda_sh=0"], "loss.lambda_pl"),
        (["loss.lambda_sh=0"], "loss.lambda_sh"),
        (["loss.lambda_pl=0"], "loss.lambda_pl"),
        (["stage1.gamma=0"], "stage1.gamma"),
        (["stage2.min_delta_db=-0.5"], "stage2.min_delta_db"),
        (["eval_batch_size=0"], "eval_batch_size"),
        (["data.workers=-1"], "data.workers"),
        (["device=gpu"], "device"),
        (["device=cuda:x"], "device"),
    ],
)
def test_invalid_settings_are_refused_naming_the_key(overrides, key):
    with pytest.raises(ValueError, match=re.escape(key)):
        load_config(None, overrides)


def test_valid_edge_settings_are_accepted():
    assert load_config(None, ["device=cuda:1"]).device == "cuda:1"
    assert load_config(None, ["max_epochs=1", "stage1.epochs=0"]).stages()[1][1].epochs == 1
    # Analytic PL has no PL head: lambda_pl may be 0; brute force does not use the lambdas.
    assert load_config(None, ["loss.lambda_pl=0", "model.pl_mode=analytic"]).loss.lambda_pl == 0
    assert load_config(None, ["loss.lambda_sh=0", "model.architecture=brute_force"]).loss.lambda_sh == 0


def _position_only(tmp_path: Path, *overrides: str) -> TrainConfig:
    return load_config(
        None,
        [
            f"data.cache_root={tmp_path / 'cache'}",
            "progress=false",
            "threads=1",
            "model.modalities=[position]",
            "stage1.batch_size=16",
            *overrides,
        ],
    )


def test_stage_two_alone_is_labelled_stage_2_everywhere(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="rssi_ros")
    cfg = _position_only(tmp_path, "stage1.enabled=false", "stage2.epochs=2", "stage2.batch_size=16")
    train(cfg, tmp_path / "run", samples=make_samples(40, seed=6, with_image=False, with_boxes=False))
    with (tmp_path / "run" / "metrics.csv").open() as f:
        assert [r["stage"] for r in csv.DictReader(f)] == ["2", "2"]
    last = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert [h["stage"] for h in last.training_state["state"]["history"]] == [2, 2]
    assert last.metrics["stage"] == 2
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt").metrics["stage"] == 2
    # The resume state still counts enabled stages (stage2 is the first and only one here).
    assert last.training_state["state"]["stage_index"] == 0
    assert "stage2 epoch 2/2" in caplog.text


def test_empty_validation_split_warns_once_that_the_training_loss_is_watched(tmp_path, caplog):
    cfg = _position_only(
        tmp_path, "stage1.epochs=3", "stage2.enabled=false", "data.fractions=[0.9, 0.0, 0.1]"
    )
    summary = train(
        cfg, tmp_path / "run", samples=make_samples(30, seed=7, with_image=False, with_boxes=False)
    )
    warnings = [r for r in caplog.records if "validation split is empty" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "training loss" in warnings[0].getMessage()
    assert math.isfinite(summary["best_val_monitor"])


def test_single_process_run_reports_rank_agreement_from_every_epoch(tmp_path):
    cfg = _position_only(tmp_path, "stage1.epochs=2", "stage2.epochs=1", "stage2.batch_size=16")
    summary = train(
        cfg, tmp_path / "run", samples=make_samples(40, seed=8, with_image=False, with_boxes=False)
    )
    assert summary["ranks_agree"] is True and summary["ranks_first_disagreement_epoch"] is None
    assert len(summary["rank_checksums"]) == 1
    # The checksum is of the last epoch's live weights (last.pt), not of the restored best.pt.
    last = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    model = last.build_model()
    assert summary["rank_checksums"] == [state_checksum(model)]


def test_rank_agreement_flags_the_first_disagreeing_epoch():
    record = RankAgreement()
    assert not record.all_agree  # nothing checked yet: not shown to agree
    assert record.record(1, ["a", "a"]) and record.all_agree
    assert not record.record(2, ["b", "c"])
    assert record.record(3, ["d", "d"])  # agreeing again does not clear the earlier disagreement
    assert not record.all_agree and record.first_disagreement == 2
    assert record.last_checksums == ["d", "d"]
    assert not record.record(4, ["e", "f"]) and record.first_disagreement == 2
    assert RankAgreement.from_dict(record.to_dict()) == record
    assert ranks_agree(["x"]) and not ranks_agree(["x", "y", "x"])


def test_train_command_reports_runtime_failures_in_one_line(tmp_path, monkeypatch, caplog):
    from rssi_ros.cli import main
    from rssi_ros.training import trainer

    def non_finite(*args, **kwargs):
        raise FloatingPointError("non-finite loss at stage 1 epoch 3: lower the learning rate?")

    monkeypatch.setattr(trainer, "train", non_finite)
    argv = ["train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--no-progress"]
    assert main(argv) == 1
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "train: non-finite loss at stage 1 epoch 3: lower the learning rate?"
    ]
    assert all(r.exc_info is None for r in errors)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_train_command_says_cuda_is_unavailable_without_a_traceback(tmp_path, caplog):
    from rssi_ros.cli import main

    argv = ["train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--device", "cuda"]
    assert main(argv) == 1
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "CUDA is not available" in errors[0].getMessage()
    assert errors[0].exc_info is None


def test_clamped_distances_are_counted_in_the_run_provenance(tmp_path):
    samples = make_samples(30, seed=8, with_image=False, with_boxes=False)
    at_mast = [s.with_(tx_lat=s.rx_lat, tx_lon=s.rx_lon + 1e-6) for s in samples[:3]]  # ~0.1 m away
    cfg = _position_only(tmp_path, "stage1.epochs=1", "stage2.enabled=false")
    train(cfg, tmp_path / "run", samples=at_mast + samples[3:])
    best = load_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")
    assert best.provenance["data"]["clamped_distance"] == 3
