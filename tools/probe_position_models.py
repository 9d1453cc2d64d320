"""Why the position-only model trails position k-NN on the real DeepSense data: a capacity probe.

Fits RSSI from the min-max normalised east/north position alone, on the split the trainer uses,
with (a) the data layer's trivial baselines, which are fitted per scenario and so know which
scenario a sample comes from, (b) the same k-NN blind to the scenario (what the model sees),
(c) plain MLPs the size of Table I's position branch and wider, (d) the same MLP on Fourier
features of the position. Prints test RMSE per model.
Usage (repository root): .venv/bin/python tools/probe_position_models.py [--protocol frame|drive]
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
import torch

from rssi_ros.data.readers import all_samples, read_datasets
from rssi_ros.data.splits import make_split
from rssi_ros.evaluation.baselines import PositionKNN, baseline_predictions, position_table

EPOCHS = 60
BATCH = 128
LR = 5e-3


def _mlp(n_in: int, hidden: int) -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Linear(n_in, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 1),
    )


def _fourier(x: torch.Tensor, octaves: int) -> torch.Tensor:
    if octaves == 0:
        return x
    angles = 2 * np.pi * x[:, :, None] * (2.0 ** torch.arange(octaves))
    return torch.cat([x, torch.sin(angles).flatten(1), torch.cos(angles).flatten(1)], 1)


def _fit(x_tr, y_tr, x_te, hidden: int, octaves: int, seed: int = 0) -> np.ndarray:
    torch.manual_seed(seed)
    f_tr, f_te = _fourier(x_tr, octaves), _fourier(x_te, octaves)
    mu, sd = float(y_tr.mean()), float(y_tr.std())
    target = (y_tr - mu) / sd
    net = _mlp(f_tr.shape[1], hidden)
    opt = torch.optim.AdamW(net.parameters(), LR, weight_decay=0.01)
    for _ in range(EPOCHS):
        perm = torch.randperm(len(f_tr))
        for i in range(0, len(perm), BATCH):
            b = perm[i : i + BATCH]
            loss = ((net(f_tr[b]).squeeze(1) - target[b]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        return net(f_te).squeeze(1).numpy() * sd + mu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/deepsense")
    parser.add_argument("--protocol", choices=("frame", "drive"), default="frame")
    args = parser.parse_args()
    samples = all_samples(read_datasets([args.data]))
    table = position_table(samples)
    split = make_split(samples, args.protocol, 0)
    x = np.stack([table.east_m, table.north_m], 1).astype(np.float32)
    lo, hi = x[split.train].min(0), x[split.train].max(0)
    xn = torch.tensor((x - lo) / (hi - lo))
    y = torch.tensor(table.rssi_db.astype(np.float32))
    truth = table.rssi_db[split.test]

    def rmse(pred: np.ndarray) -> float:
        return float(np.sqrt(np.mean((pred - truth) ** 2)))

    rows = [
        (f"{name} (per scenario)", rmse(p)) for name, p in baseline_predictions(table, split, "test").items()
    ]
    blind = dataclasses.replace(table, scenario=np.full(len(table.scenario), "pooled"))
    (knn,) = baseline_predictions(blind, split, "test", [PositionKNN()]).values()
    rows.append(("knn10 (scenario-blind)", rmse(knn)))
    for hidden, octaves in ((32, 0), (128, 0), (32, 8)):
        pred = _fit(xn[split.train], y[split.train], xn[split.test], hidden, octaves)
        label = f"MLP 2->{hidden}->64->1" + (f", {octaves} Fourier octaves" if octaves else "")
        rows.append((label, rmse(pred)))
    print(f"RSSI from position only, {args.protocol} split seed 0, test n={len(truth)}")
    for name, value in rows:
        print(f"  {name:40s} RMSE {value:.2f} dB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
