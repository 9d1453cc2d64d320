"""Regression heads and the analytic path loss (the closed form the PL label is defined by)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class RegressionHead(nn.Module):
    """in -> hidden (ReLU) -> 1, returning shape (B,) (Table I: 160 -> 64 -> 1 and 224 -> 64 -> 1)."""

    def __init__(self, in_features: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(-1)


def analytic_path_loss(distance_m: Tensor, exponent: Tensor, min_distance_m: Tensor) -> Tensor:
    """PL = 10 n log10(max(d, d_min)), the same formula as `physics.labels.path_loss_db`."""
    return 10.0 * exponent * torch.log(torch.maximum(distance_m, min_distance_m)) / math.log(10.0)
