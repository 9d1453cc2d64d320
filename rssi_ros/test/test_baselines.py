"""Metrics on hand-computed numbers, the trivial predictors' exact behaviour, and the real-data figures."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from helpers.official_scene import RX, grid_samples, write_official_scene

from rssi_ros.cli import main
from rssi_ros.data.readers import all_samples, read_datasets
from rssi_ros.data.sample import Sample
from rssi_ros.data.splits import make_split
from rssi_ros.evaluation.baselines import (
    LogDistanceFit,
    PositionKNN,
    PositionTable,
    ScenarioMean,
    baseline_predictions,
    baseline_rows,
    position_table,
    run_baselines,
)
from rssi_ros.evaluation.metrics import regression_metrics
from rssi_ros.physics.geodesy import offset_latlon

# Ranges of the shared README (RMSE dB on the test part, min-max over 5 seeds).
README_RANGES = {
    "frame": {"scenario_mean": (2.28, 2.49), "log_distance": (2.21, 2.43), "knn10": (1.93, 2.12)},
    "drive": {"scenario_mean": (1.98, 2.64), "log_distance": (1.93, 2.52), "knn10": (1.87, 2.64)},
}


def test_metrics_on_hand_computed_numbers():
    m = regression_metrics([1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 5.0, 4.5])  # errors 0, -1, -2, -0.5
    assert m == {"rmse": math.sqrt(5.25 / 4), "mae": 0.875, "within_1db": 0.75, "n": 4}
    assert regression_metrics(np.array([[2.0]]), np.array([[2.0]])) == {
        "rmse": 0.0,
        "mae": 0.0,
        "within_1db": 1.0,
        "n": 1,
    }
    empty = regression_metrics([], [])
    assert empty["n"] == 0 and math.isnan(empty["rmse"])
    with pytest.raises(ValueError, match="same shape"):
        regression_metrics([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="finite"):
        regression_metrics([np.nan], [1.0])


def _table(scenario, east, north, rssi):
    east = np.asarray(east, float)
    north = np.asarray(north, float)
    return PositionTable(
        scenario=np.array([scenario] * east.size),
        east_m=east,
        north_m=north,
        distance_m=np.hypot(east, north),
        rssi_db=np.asarray(rssi, float),
    )


def _concat(*tables):
    return PositionTable(
        *(np.concatenate([getattr(t, f) for t in tables]) for f in PositionTable.__dataclass_fields__)
    )


def test_scenario_mean_predicts_exactly_the_training_mean_per_scenario():
    train = _concat(_table("a", [1, 2, 3], [0, 0, 0], [-10.0, -12.0, -14.5]), _table("b", [5], [5], [-3.25]))
    test = _concat(
        _table("b", [1, 9], [1, 9], [0, 0]), _table("a", [7], [7], [0]), _table("c", [1], [1], [0])
    )
    pred = ScenarioMean().fit(train).predict(test)
    pooled = np.mean([-10.0, -12.0, -14.5, -3.25])
    np.testing.assert_array_equal(pred, [-3.25, -3.25, np.mean([-10.0, -12.0, -14.5]), pooled])


def test_log_distance_fit_recovers_a_and_b():
    d = np.array([2.0, 5.0, 10.0, 40.0, 100.0])
    rssi = -3.0 - 17.5 * np.log10(d)
    fit = LogDistanceFit().fit(_table("a", d, np.zeros_like(d), rssi))
    a, b = fit.coefficients()["a"]
    assert (a, b) == (pytest.approx(-3.0, abs=1e-9), pytest.approx(-17.5, abs=1e-9))
    # Distances below the label's minimum are clamped like the labels: d = 0.2 m predicts as 1 m.
    pred = fit.predict(_table("a", [0.2, 20.0], [0.0, 0.0], [0.0, 0.0]))
    np.testing.assert_allclose(pred, [-3.0, -3.0 - 17.5 * np.log10(20.0)], atol=1e-9)


def test_knn_averages_the_k_nearest_of_the_same_scenario():
    east = np.arange(30.0)
    train = _concat(_table("a", east, np.zeros(30), east * 2.0), _table("b", [0.0], [0.0], [100.0]))
    pred = PositionKNN(10).fit(train).predict(_table("a", [0.2, 14.6], [0.0, 0.0], [0, 0]))
    np.testing.assert_allclose(pred, [np.mean(np.arange(10) * 2.0), np.mean(np.arange(10, 20) * 2.0)])
    # Fewer training samples than k: the mean of all of them.
    assert PositionKNN(10).fit(train).predict(_table("b", [3.0], [3.0], [0]))[0] == 100.0


def test_scenario_blind_knn_mixes_scenarios_at_the_same_place():
    # Two scenarios measured at the same positions with offsets 10 dB apart (other sites, same road
    # geometry): per scenario the k-NN knows the offset, blind to it the k-NN averages both.
    east = np.arange(10.0)
    train = _concat(
        _table("a", east, np.zeros(10), np.full(10, -10.0)),
        _table("b", east, np.zeros(10), np.full(10, -20.0)),
    )
    query = _table("a", [4.5], [0.0], [0.0])
    assert PositionKNN(10).fit(train).predict(query)[0] == -10.0
    blind = PositionKNN(10, per_scenario=False).fit(train)
    assert blind.name == "knn10_any_scenario"
    assert blind.predict(query)[0] == pytest.approx(-15.0)


def test_knn_matches_a_brute_force_loop():
    rng = np.random.default_rng(4)
    train = _table("a", rng.uniform(-50, 50, 700), rng.uniform(-50, 50, 700), rng.normal(-10, 3, 700))
    test = _table("a", rng.uniform(-50, 50, 300), rng.uniform(-50, 50, 300), np.zeros(300))
    pred = PositionKNN(10).fit(train).predict(test)
    for i in range(0, 300, 37):
        d = np.hypot(train.east_m - test.east_m[i], train.north_m - test.north_m[i])
        assert pred[i] == pytest.approx(train.rssi_db[np.argsort(d)[:10]].mean(), abs=1e-12)


def test_position_table_uses_pyproj_enu():
    lat, lon = (float(v) for v in offset_latlon(RX[0], RX[1], 30.0, -40.0))
    table = position_table([Sample(RX[0], RX[1], lat, lon, rssi_db=-9.0, scenario="s", index=1)])
    assert (table.east_m[0], table.north_m[0]) == (
        pytest.approx(30.0, abs=1e-3),
        pytest.approx(-40.0, abs=1e-3),
    )
    assert table.distance_m[0] == pytest.approx(50.0, abs=1e-2)
    with pytest.raises(ValueError, match="no RSSI label"):
        position_table([Sample(RX[0], RX[1], lat, lon, index=1)])


def test_baselines_on_a_split_give_rows_for_each_predictor_and_scenario():
    samples = grid_samples({"a": 10, "b": 10})
    split = make_split(samples, "drive", seed=0)
    rows = run_baselines(samples, split, parts=("val", "test"))
    assert {(r["part"], r["predictor"], r["scenario"]) for r in rows} == {
        (part, p, s)
        for part in ("val", "test")
        for p in ("scenario_mean", "log_distance", "knn10")
        for s in ("all", "a", "b")
    }
    pooled = {r["predictor"]: r for r in rows if r["part"] == "test" and r["scenario"] == "all"}
    assert pooled["knn10"]["n"] == split.test.size
    preds = baseline_predictions(position_table(samples), split, "test")["scenario_mean"]
    train_mean = {
        s: np.mean([samples[i].rssi_db for i in split.train if samples[i].scenario == s]) for s in "ab"
    }
    np.testing.assert_array_equal(preds, [train_mean[samples[i].scenario] for i in split.test])


def test_data_stats_counts_clamped_distances_and_masked_label_files(tmp_path, capsys):
    scene = write_official_scene(tmp_path / "scene")
    # Rows 1 and 2 drive up to the mast: 0 m and 0.5 m are below the 1 m label clamp.
    for row, east in ((1, 0.0), (2, 0.5)):
        lat, lon = offset_latlon(*RX, east, 0.0)
        scene.gps_files[row].write_text(f"{float(lat)!r}\n{float(lon)!r}\n")
    scene.label_files[0].write_bytes(b"\xff not text\n")
    out = tmp_path / "stats.json"
    assert main(["data", "stats", str(tmp_path / "scene"), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "clamped" in printed and "bad_label_file" in printed
    result = json.loads(out.read_text())
    row = result["scenarios"][0]
    assert (row["samples"], row["skipped"], row["clamped"], row["boxes"]) == (6, 0, 2, 4)
    assert result["pooled"]["clamped"] == 2 and result["label"]["min_distance_m"] == 1.0
    assert result["reader"]["scenario42"]["masked"]["bad_label_file"] == 1
    assert (
        main(["data", "stats", str(tmp_path / "scene"), "--json", str(out), "--min-distance-m", "1e6"]) == 0
    )
    assert json.loads(out.read_text())["scenarios"][0]["clamped"] == 6
    assert main(["data", "stats", str(tmp_path / "scene"), "--json", str(out), "--min-distance-m", "0"]) == 2


@pytest.mark.shared_data
def test_real_figures_land_in_the_readme_ranges(shared_data):
    samples = all_samples(read_datasets([shared_data]))
    table = position_table(samples)
    rmse = {}
    for protocol, ranges in README_RANGES.items():
        rows = baseline_rows(table, make_split(samples, protocol, seed=0), per_scenario=False)
        rmse[protocol] = {r["predictor"]: r["rmse"] for r in rows}
        for name, (lo, hi) in ranges.items():
            assert lo <= rmse[protocol][name] <= hi, (protocol, name, rmse[protocol][name])
    # On random frames k-NN profits from near copies of the test frames in training.
    frame = rmse["frame"]
    assert frame["knn10"] < frame["log_distance"] < frame["scenario_mean"]


@pytest.mark.shared_data
def test_data_commands_print_tables_and_write_json(shared_data, tmp_path, capsys):
    out = tmp_path / "bl.json"
    assert main(["data", "baselines", str(shared_data), "--seed", "0", "1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "frame split" in printed and "drive split" in printed and "knn10" in printed
    result = json.loads(out.read_text())
    assert result["samples"] == 20499 and result["seeds"] == [0, 1]
    assert {r["protocol"] for r in result["rows"]} == {"frame", "drive"}
    assert sorted(p.name for p in (tmp_path / "bl_splits").iterdir()) == [
        "drive_seed0.json",
        "drive_seed1.json",
        "frame_seed0.json",
        "frame_seed1.json",
    ]
    write_official_scene(tmp_path / "scene")
    stats = tmp_path / "stats.json"
    assert main(["data", "stats", str(tmp_path / "scene"), "--json", str(stats)]) == 0
    row = json.loads(stats.read_text())["scenarios"][0]
    assert (row["scenario"], row["samples"], row["drives"], row["images"], row["boxes"]) == (
        "scenario42",
        6,
        2,
        6,
        5,
    )
