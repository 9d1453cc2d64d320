"""`python -m rssi_ros evaluate`: Table III/IV, baselines on the training split, JSON and PNGs."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from helpers.model_samples import write_small_scene

from rssi_ros.cli import main
from rssi_ros.data.preprocess import PreprocessConfig, preprocess, targets
from rssi_ros.data.readers import read_dataset
from rssi_ros.evaluation.command import training_data_settings
from rssi_ros.evaluation.metrics import regression_metrics
from rssi_ros.evaluation.model_eval import EvalResult
from rssi_ros.evaluation.plots import drive_plots
from rssi_ros.inference.predictor import Predictor
from rssi_ros.model.checkpoint import write_random_checkpoint
from rssi_ros.model.config import ModelConfig
from rssi_ros.training.config import DataSection, load_config
from rssi_ros.training.trainer import train

PRE = PreprocessConfig(image_size=32)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return write_small_scene(tmp_path_factory.mktemp("eval") / "scene", frames=48, seed=5).parent


@pytest.mark.slow
def test_evaluate_all_samples_matches_direct_predictions(tmp_path, scene, capsys):
    ckpt = write_random_checkpoint(tmp_path / "m.pt", ModelConfig(pl_mode="analytic"), PRE, seed=1)
    out = tmp_path / "eval"
    args = [
        "evaluate",
        "--checkpoint",
        str(ckpt),
        "--data",
        str(scene),
        "--split",
        "all",
        "--no-interference",
    ]
    assert main([*args, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Table III" in printed and "Table IV" in printed and "irreducible noise" in printed
    report = json.loads((out / "evaluation.json").read_text())
    samples = read_dataset(scene).samples
    assert report["n"] == len(samples) and report["split"] == "all"
    for key in ("rssi", "pl", "sh"):
        assert set(report[key]) == {"rmse", "mae", "within_1db", "n"}
    # Analytic PL is the label's own closed form: its error is exactly zero.
    assert report["pl"]["rmse"] == pytest.approx(0.0, abs=1e-4)
    # The same figures straight from the Predictor.
    predictor = Predictor.load(ckpt)
    est = predictor.predict_batch(samples)
    truth = [
        targets(s, preprocess(s, PRE, predictor.normaliser).distance_m, PRE.label).rssi_db for s in samples
    ]
    direct = regression_metrics(np.array([e.rssi_db for e in est]), np.array(truth))
    assert report["rssi"]["rmse"] == pytest.approx(direct["rmse"], abs=1e-4)
    assert report["no_interference"]["n"] == len(samples)
    assert (out / "error_histogram.png").stat().st_size > 1000
    assert report["plots"]["drives"] and all((out / "drives").glob("*.png"))
    assert report["irreducible_noise_db"] and report["irreducible_noise_db"][0] > 0
    assert report["baselines"] == []  # nothing to fit them on with --split all


@pytest.mark.slow
def test_evaluate_a_trained_run_on_its_own_test_split_with_baselines(tmp_path, scene, caplog):
    cfg = load_config(
        None,
        [
            f"data.paths=[{scene}]",
            f"data.cache_root={tmp_path / 'cache'}",
            "preprocess.image_size=32",
            "stage1.epochs=2",
            "stage2.enabled=false",
            "progress=false",
            "threads=1",
        ],
    )
    train(cfg, tmp_path / "run")
    caplog.set_level(logging.INFO, logger="rssi_ros")
    split = json.loads((tmp_path / "run" / "split.json").read_text())
    json_path = tmp_path / "report.json"
    ckpt = tmp_path / "run" / "checkpoints" / "best.pt"
    assert main(["evaluate", "--checkpoint", str(ckpt), "--json", str(json_path), "--no-plots"]) == 0
    assert "split identical to the training run's" in caplog.text
    report = json.loads(json_path.read_text())
    assert report["n"] == len(split["test"]) and report["protocol"] == "frame"
    names = [b["predictor"] for b in report["baselines"]]
    assert names == ["scenario_mean", "log_distance", "knn10", "knn10_any_scenario"]
    assert all(b["n"] == report["n"] for b in report["baselines"])
    # Another protocol on the same data is allowed, with a warning about overlap.
    args = ["evaluate", "--checkpoint", str(ckpt), "--protocol", "drive", "--split", "train", "--no-plots"]
    assert main([*args, "--json", str(json_path)]) == 0
    assert json.loads(json_path.read_text())["protocol"] == "drive"
    assert "overlaps the model's training data" in caplog.text


def test_evaluate_refuses_a_bad_checkpoint(tmp_path):
    bad = tmp_path / "x.pt"
    bad.write_bytes(b"junk")
    assert main(["evaluate", "--checkpoint", str(bad), "--data", str(tmp_path)]) == 2


def test_drives_beyond_the_plot_cap_are_listed_in_the_json_and_the_output(tmp_path, scene, capsys):
    ckpt = write_random_checkpoint(tmp_path / "p.pt", ModelConfig(modalities=("position",)), PRE)
    out = tmp_path / "eval"
    args = ["evaluate", "--checkpoint", str(ckpt), "--data", str(scene), "--split", "all"]
    assert main([*args, "--out", str(out), "--max-drive-plots", "0"]) == 0
    report = json.loads((out / "evaluation.json").read_text())
    drives = sorted({(s.scenario, s.seq_index) for s in read_dataset(scene).samples})
    assert report["drive_plots"]["written"] == [] and report["plots"]["drives"] == []
    assert [(d["scenario"], d["drive"]) for d in report["drive_plots"]["not_plotted"]] == drives
    printed = capsys.readouterr().out
    assert f"drive plots: 0 of {len(drives)} drives" in printed
    assert all(f"{s} drive {q}" in printed for s, q in drives)


def test_drive_plots_write_the_first_drives_and_name_the_rest(tmp_path):
    n = 6
    rssi = -np.linspace(60.0, 70.0, n)
    result = EvalResult(
        pred={"rssi": rssi + 0.5, "pl": -rssi - 10.0, "sh": np.full(n, 10.0)},
        true={"rssi": rssi, "pl": -rssi - 10.0, "sh": np.full(n, 10.0)},
        scenario=["b", "b", "a", "a", "a", "c"],
        seq_index=np.array([0, 0, 2, 1, 1, 0]),
        stamp=np.arange(n, dtype=float),
    )
    plots = drive_plots(result, tmp_path / "drives", "m", max_plots=2)
    assert [p.name for p in plots.written] == ["a_drive1.png", "a_drive2.png"]
    assert all(p.is_file() for p in plots.written)
    assert plots.not_plotted == [("b", 0), ("c", 0)]
    assert plots.to_dict()["not_plotted"] == [{"scenario": "b", "drive": 0}, {"scenario": "c", "drive": 0}]
    assert drive_plots(result, tmp_path / "all", "m", max_plots=10).not_plotted == []


def test_checkpoints_without_recorded_split_fall_back_to_the_training_defaults():
    trained = training_data_settings({})
    defaults = DataSection()
    assert trained["fractions"] == list(defaults.fractions)
    assert (trained["protocol"], trained["seed"], trained["gps_column"]) == (
        defaults.protocol,
        defaults.split_seed,
        defaults.gps_column,
    )
    recorded = {"provenance": {"data": {"split": {"fractions": [0.5, 0.25, 0.25], "protocol": "drive"}}}}
    assert training_data_settings(recorded)["fractions"] == [0.5, 0.25, 0.25]
    assert training_data_settings(recorded)["protocol"] == "drive"
