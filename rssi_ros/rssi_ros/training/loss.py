"""The training objective, in dB^2 as the paper defines it."""

from __future__ import annotations

import torch
from torch import Tensor

from rssi_ros.model.config import DECOMPOSED, ModelConfig
from rssi_ros.model.networks import TARGET_PL, TARGET_RSSI, TARGET_SH
from rssi_ros.training.config import LossSection


def training_loss(
    outputs: tuple[Tensor, Tensor, Tensor], targets: Tensor, model: ModelConfig, weights: LossSection
) -> Tensor:
    """lambda_PL * MSE(PL) + lambda_SH * MSE(SH) for the decomposed model.

    With analytic PL the PL term is identically zero (PL is the label's own closed form), so only
    the SH term trains. Models without a decomposition (brute force, image only) regress RSSI:
    MSE(RSSI). `targets` is (B, 3): RSSI, PL, SH in dB.
    """
    rssi, pl, sh = outputs
    if model.architecture != DECOMPOSED:
        return torch.mean((rssi - targets[:, TARGET_RSSI]) ** 2)
    loss = weights.lambda_sh * torch.mean((sh - targets[:, TARGET_SH]) ** 2)
    if model.learns_path_loss:
        loss = loss + weights.lambda_pl * torch.mean((pl - targets[:, TARGET_PL]) ** 2)
    return loss
