"""Turn a list of `ModelInput` (numpy, one per sample) into the model's six input tensors.

Shared by the trainer (as the DataLoader's collate function), the evaluator, the predictor and
the export check, so every consumer builds exactly the same tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from rssi_ros.data.preprocess import ModelInput
from rssi_ros.model.networks import INPUT_NAMES


@dataclass
class Batch:
    """The model inputs of a batch (names and order of `networks.INPUT_NAMES`)."""

    image: Tensor
    position: Tensor
    boxes: Tensor
    box_mask: Tensor
    modalities: Tensor
    distance: Tensor

    def as_tuple(self) -> tuple[Tensor, ...]:
        return tuple(getattr(self, n) for n in INPUT_NAMES)

    def to(self, device: torch.device | str) -> Batch:
        return Batch(*(t.to(device, non_blocking=True) for t in self.as_tuple()))

    def numpy(self) -> dict[str, np.ndarray]:
        """Inputs by name as numpy arrays (what ONNX Runtime takes)."""
        return {n: t.detach().cpu().numpy() for n, t in zip(INPUT_NAMES, self.as_tuple(), strict=True)}

    def __len__(self) -> int:
        return int(self.position.shape[0])


def collate(inputs: Sequence[ModelInput], with_image: bool = True) -> Batch:
    """Stack model inputs into tensors.

    The image becomes float NCHW on the 0..255 scale (the model normalises inside its graph).
    With `with_image=False` (models without an image encoder) a 1x1 placeholder avoids
    allocating and copying images nobody reads.
    """
    if not inputs:
        raise ValueError("cannot collate an empty list of model inputs")
    if with_image:
        images = torch.from_numpy(np.stack([m.image for m in inputs])).permute(0, 3, 1, 2).float()
    else:
        images = torch.zeros((len(inputs), 3, 1, 1), dtype=torch.float32)
    return Batch(
        image=images.contiguous(),
        position=torch.from_numpy(np.stack([m.position for m in inputs]).astype(np.float32)),
        boxes=torch.from_numpy(np.stack([m.boxes for m in inputs]).astype(np.float32)),
        box_mask=torch.from_numpy(np.stack([m.box_mask for m in inputs]).astype(np.float32)),
        modalities=torch.from_numpy(np.stack([m.modalities for m in inputs]).astype(np.float32)),
        distance=torch.tensor([m.distance_m for m in inputs], dtype=torch.float32),
    )


def random_batch(
    batch_size: int, image_size: int, max_objects: int, box_features: int, seed: int = 0
) -> Batch:
    """Random but valid inputs (export checks, benchmarks): uint8-valued images, real-looking distances."""
    g = torch.Generator().manual_seed(seed)
    mask = (torch.rand(batch_size, max_objects, generator=g) < 0.5).float()
    return Batch(
        image=torch.randint(0, 256, (batch_size, 3, image_size, image_size), generator=g).float(),
        position=torch.rand(batch_size, 2, generator=g),
        boxes=torch.rand(batch_size, max_objects, box_features, generator=g) * mask.unsqueeze(-1),
        box_mask=mask,
        modalities=(torch.rand(batch_size, 3, generator=g) < 0.8).float(),
        distance=torch.rand(batch_size, generator=g) * 150.0 + 0.5,
    )
