"""Trivial RSSI predictors that any model must beat, fitted per scenario on the training part.

- `ScenarioMean`: the training mean RSSI of the sample's scenario.
- `LogDistanceFit`: least squares `A + B log10 d` per scenario (d = geodesic Tx-Rx distance,
  clamped to `LabelDefinition.min_distance_m` like the labels).
- `PositionKNN`: mean RSSI of the k = 10 nearest training samples of the same scenario in
  east/north metres of the receiver's tangent plane.

Fitted per scenario, these baselines know which scenario (site, day, hardware) a sample comes
from, which a model fed only the sample's inputs does not: on the real DeepSense data the scenario
means alone span -9 to -20 dB. `scenario_blind_baselines()` gives the k-NN fitted on all scenarios
pooled (`knn10_any_scenario`), the fair trivial competitor of a position-only model.

A scenario absent from the training part falls back to the pooled training mean (logged), so a
prediction exists for every sample. Usage from an evaluator:

    table = position_table(samples)                  # once per sample list
    preds = baseline_predictions(table, split, "test")   # {name: predictions of split.test}
    rows = baseline_rows(table, split, parts=("test",))  # pooled + per-scenario metric rows
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rssi_ros.data.sample import Sample
from rssi_ros.data.splits import Split
from rssi_ros.evaluation.metrics import regression_metrics
from rssi_ros.physics.geodesy import relative_position
from rssi_ros.physics.labels import LabelDefinition

log = logging.getLogger(__name__)

DEFAULT_K = 10
# Test rows per block of the k-NN distance matrix (block x n_train floats stay a few MB).
KNN_BLOCK = 256
POOLED = "all"


@dataclass(frozen=True)
class PositionTable:
    """Per-sample columns the baselines need, computed once (vectorised pyproj) for a sample list."""

    scenario: NDArray[np.str_]
    east_m: NDArray[np.float64]
    north_m: NDArray[np.float64]
    distance_m: NDArray[np.float64]
    rssi_db: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.rssi_db.size)

    def take(self, idx: NDArray[np.int64]) -> PositionTable:
        return PositionTable(
            self.scenario[idx], self.east_m[idx], self.north_m[idx], self.distance_m[idx], self.rssi_db[idx]
        )


def position_table(samples: Sequence[Sample]) -> PositionTable:
    """Columns of labelled samples; unlabelled samples cannot be baselined and raise."""
    unlabelled = [s.key for s in samples if s.rssi_db is None]
    if unlabelled:
        raise ValueError(f"{len(unlabelled)} samples have no RSSI label (e.g. {unlabelled[:3]})")
    cols = np.array([(s.rx_lat, s.rx_lon, s.tx_lat, s.tx_lon) for s in samples], dtype=np.float64)
    cols = cols.reshape(-1, 4)
    rel = relative_position(cols[:, 0], cols[:, 1], cols[:, 2], cols[:, 3])
    return PositionTable(
        scenario=np.array([s.scenario for s in samples], dtype=str),
        east_m=np.asarray(rel.east_m, dtype=np.float64),
        north_m=np.asarray(rel.north_m, dtype=np.float64),
        distance_m=np.asarray(rel.distance_m, dtype=np.float64),
        rssi_db=np.array([s.rssi_db for s in samples], dtype=np.float64),
    )


class Baseline:
    """Fit per scenario on a training table, predict any table; unseen scenarios get the pooled mean."""

    name = "baseline"

    def __init__(self, per_scenario: bool = True) -> None:
        self.per_scenario = per_scenario
        self._pooled_mean = float("nan")
        self._models: dict[str, object] = {}

    def _groups(self, table: PositionTable) -> NDArray[np.str_]:
        """The scenario of every row, or one group for all rows when blind to the scenario."""
        return table.scenario if self.per_scenario else np.full(len(table), POOLED)

    def fit(self, train: PositionTable) -> Baseline:
        if len(train) == 0:
            raise ValueError(f"{self.name}: cannot fit on an empty training part")
        self._pooled_mean = float(np.mean(train.rssi_db))
        self._models = {}
        groups = self._groups(train)
        for scenario in np.unique(groups):
            self._models[str(scenario)] = self._fit_one(train.take(np.flatnonzero(groups == scenario)))
        return self

    def predict(self, table: PositionTable) -> NDArray[np.float64]:
        if not self._models:
            raise RuntimeError(f"{self.name}: fit before predict")
        out = np.full(len(table), self._pooled_mean)
        groups = self._groups(table)
        for scenario in np.unique(groups):
            idx = np.flatnonzero(groups == scenario)
            model = self._models.get(str(scenario))
            if model is None:
                log.warning(
                    "%s: scenario %s not in training; predicting the pooled mean", self.name, scenario
                )
                continue
            out[idx] = self._predict_one(model, table.take(idx))
        return out

    def _fit_one(self, train: PositionTable) -> object:
        raise NotImplementedError

    def _predict_one(self, model: object, table: PositionTable) -> NDArray[np.float64]:
        raise NotImplementedError


class ScenarioMean(Baseline):
    name = "scenario_mean"

    def _fit_one(self, train: PositionTable) -> float:
        return float(np.mean(train.rssi_db))

    def _predict_one(self, model: object, table: PositionTable) -> NDArray[np.float64]:
        return np.full(len(table), float(model))  # type: ignore[arg-type]


class LogDistanceFit(Baseline):
    """`A + B log10 d`; with a single distinct distance the fit degenerates to the mean (B = 0)."""

    name = "log_distance"

    def __init__(self, label: LabelDefinition | None = None) -> None:
        super().__init__()
        self.min_distance_m = (label or LabelDefinition()).min_distance_m

    def _log_d(self, table: PositionTable) -> NDArray[np.float64]:
        return np.log10(np.maximum(table.distance_m, self.min_distance_m))

    def _fit_one(self, train: PositionTable) -> tuple[float, float]:
        x = self._log_d(train)
        if np.ptp(x) == 0:
            return float(np.mean(train.rssi_db)), 0.0
        design = np.column_stack([np.ones_like(x), x])
        (a, b), *_ = np.linalg.lstsq(design, train.rssi_db, rcond=None)
        return float(a), float(b)

    def _predict_one(self, model: object, table: PositionTable) -> NDArray[np.float64]:
        a, b = model  # type: ignore[misc]
        return a + b * self._log_d(table)

    def coefficients(self) -> dict[str, tuple[float, float]]:
        """Fitted (A, B) per scenario; B / -10 is the apparent path-loss exponent of the label."""
        return dict(self._models)  # type: ignore[arg-type]


class PositionKNN(Baseline):
    """Mean of the k nearest training labels in east/north metres (uniform weights)."""

    name = "knn10"

    def __init__(self, k: int = DEFAULT_K, per_scenario: bool = True) -> None:
        super().__init__(per_scenario)
        if k < 1:
            raise ValueError("k must be positive")
        self.k = k
        self.name = f"knn{k}" if per_scenario else f"knn{k}_any_scenario"

    def _fit_one(self, train: PositionTable) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        return np.column_stack([train.east_m, train.north_m]), train.rssi_db.copy()

    def _predict_one(self, model: object, table: PositionTable) -> NDArray[np.float64]:
        points, labels = model  # type: ignore[misc]
        query = np.column_stack([table.east_m, table.north_m])
        k = min(self.k, len(labels))
        out = np.empty(len(query))
        for start in range(0, len(query), KNN_BLOCK):
            block = query[start : start + KNN_BLOCK]
            d2 = ((block[:, None, :] - points[None, :, :]) ** 2).sum(axis=-1)
            nearest = np.argpartition(d2, k - 1, axis=1)[:, :k] if k < len(labels) else None
            out[start : start + len(block)] = (
                labels[nearest].mean(axis=1) if nearest is not None else labels.mean()
            )
        return out


def default_baselines(label: LabelDefinition | None = None) -> list[Baseline]:
    """The three trivial predictors of the reports, in report order."""
    return [ScenarioMean(), LogDistanceFit(label), PositionKNN(DEFAULT_K)]


def scenario_blind_baselines() -> list[Baseline]:
    """Trivial predictors that, like the model, do not know a sample's scenario."""
    return [PositionKNN(DEFAULT_K, per_scenario=False)]


def baseline_predictions(
    table: PositionTable,
    split: Split,
    part: str = "test",
    baselines: Sequence[Baseline] | None = None,
) -> dict[str, NDArray[np.float64]]:
    """{baseline name: predictions for `split.part(part)`}, each fitted on `split.train`."""
    if len(split.keys) != len(table):
        raise ValueError(f"split has {len(split.keys)} samples, table {len(table)}")
    train, target = table.take(split.train), table.take(split.part(part))
    return {b.name: b.fit(train).predict(target) for b in (baselines or default_baselines())}


def baseline_rows(
    table: PositionTable,
    split: Split,
    parts: Sequence[str] = ("test",),
    per_scenario: bool = True,
    baselines: Sequence[Baseline] | None = None,
) -> list[dict]:
    """Metric rows {protocol, seed, part, predictor, scenario, rmse, mae, within_1db, n}.

    scenario "all" is pooled over every sample of the part (how the shared README reports it);
    with `per_scenario`, one row per scenario follows.
    """
    rows: list[dict] = []
    for part in parts:
        idx = split.part(part)
        truth = table.rssi_db[idx]
        scen = table.scenario[idx]
        for name, pred in baseline_predictions(table, split, part, baselines).items():
            groups = [(POOLED, np.ones(idx.size, bool))]
            if per_scenario:
                groups += [(str(s), scen == s) for s in np.unique(scen)]
            for scenario, mask in groups:
                m = regression_metrics(pred[mask], truth[mask])
                rows.append(
                    {
                        "protocol": split.protocol,
                        "seed": split.seed,
                        "part": part,
                        "predictor": name,
                        "scenario": scenario,
                        **m,
                    }
                )
    return rows


def run_baselines(
    samples: Sequence[Sample],
    split: Split,
    parts: Sequence[str] = ("test",),
    per_scenario: bool = True,
) -> list[dict]:
    """`baseline_rows` straight from samples (checks that the split belongs to them)."""
    split.check(samples)
    return baseline_rows(position_table(samples), split, parts, per_scenario)
