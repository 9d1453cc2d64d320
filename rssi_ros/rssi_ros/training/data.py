"""Training data: read, limit, split, normalise, cache images, preprocess once, batch deterministically.

Every sample goes through `data.preprocess.preprocess` exactly once per run (with its cached,
resized image); what is kept are the small tensors (position, boxes, masks, distance, labels) and
the row of its image in the memory-mapped cache. Batches are rebuilt from those by the shared
`model.batch.collate`, so the trainer feeds the model what the evaluator and the node feed it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from torch.utils.data import Dataset

from rssi_ros.data.normalisation import MinMaxNormaliser
from rssi_ros.data.preprocess import ModelInput, PreprocessConfig, preprocess, targets
from rssi_ros.data.sample import Sample
from rssi_ros.model.batch import Batch, collate
from rssi_ros.physics.geodesy import relative_position

log = logging.getLogger(__name__)


def fit_normaliser(samples: Sequence[Sample]) -> MinMaxNormaliser:
    """Min-max statistics of east/north over the given (training) samples."""
    if not samples:
        raise ValueError("cannot fit the position normaliser on an empty training split")
    rel = relative_position(
        [s.rx_lat for s in samples],
        [s.rx_lon for s in samples],
        [s.tx_lat for s in samples],
        [s.tx_lon for s in samples],
    )
    return MinMaxNormaliser.fit(rel.east_north)


@dataclass
class PreparedSet:
    """The preprocessed model inputs (without images) and labels of a list of samples."""

    keys: list[str]
    position: NDArray[np.float32]
    boxes: NDArray[np.float32]
    box_mask: NDArray[np.bool_]
    modalities: NDArray[np.bool_]
    distance_m: NDArray[np.float64]
    east_m: NDArray[np.float64]
    north_m: NDArray[np.float64]
    tx_in_view: NDArray[np.bool_]
    num_boxes: NDArray[np.int64]
    has_cached_image: NDArray[np.bool_]
    targets: NDArray[np.float32]  # (N, 3): RSSI, PL, SH in dB
    scenario: list[str] = field(default_factory=list)
    seq_index: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    stamp: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    def __len__(self) -> int:
        return len(self.keys)

    def model_input(self, i: int, image: NDArray[np.uint8]) -> ModelInput:
        return ModelInput(
            image=image,
            position=self.position[i],
            boxes=self.boxes[i],
            box_mask=self.box_mask[i],
            modalities=self.modalities[i],
            distance_m=float(self.distance_m[i]),
            east_m=float(self.east_m[i]),
            north_m=float(self.north_m[i]),
            tx_in_view=bool(self.tx_in_view[i]),
            num_boxes=int(self.num_boxes[i]),
        )

    def target_statistics(self, indices: NDArray[np.int64]) -> tuple[list[float], list[float]]:
        t = self.targets[indices].astype(np.float64)
        return t.mean(axis=0).tolist(), t.std(axis=0).tolist()


def prepare(
    samples: Sequence[Sample],
    config: PreprocessConfig,
    normaliser: MinMaxNormaliser,
    cache=None,
    progress: bool = False,
) -> PreparedSet:
    """Run the one preprocessing path over every sample once, with its image from `cache`.

    Without a cache (a model that reads no images) every sample is preprocessed without its image.
    """
    from tqdm import tqdm

    n, k, f = len(samples), config.max_objects, config.box_features
    out = PreparedSet(
        keys=[s.key for s in samples],
        position=np.zeros((n, 2), np.float32),
        boxes=np.zeros((n, k, f), np.float32),
        box_mask=np.zeros((n, k), bool),
        modalities=np.zeros((n, 3), bool),
        distance_m=np.zeros(n),
        east_m=np.zeros(n),
        north_m=np.zeros(n),
        tx_in_view=np.zeros(n, bool),
        num_boxes=np.zeros(n, np.int64),
        has_cached_image=np.zeros(n, bool),
        targets=np.zeros((n, 3), np.float32),
        scenario=[s.scenario for s in samples],
        seq_index=np.array([s.seq_index for s in samples], np.int64),
        stamp=np.array([s.stamp for s in samples], np.float64),
    )
    for i, s in enumerate(tqdm(samples, desc="preprocess", unit="sample", disable=not progress, leave=False)):
        image = cache.image(s.key) if cache is not None and s.key in cache else None
        if image is None:
            # No cached image (none in the sample, or it failed to decode and was logged by the
            # cache): the sample has no image modality; never a blank image flagged as present.
            s = s.with_(image=None, image_path=None)  # noqa: PLW2901
        m = preprocess(s, config, normaliser, image=image)
        t = targets(s, m.distance_m, config.label)
        out.position[i], out.boxes[i], out.box_mask[i], out.modalities[i] = (
            m.position,
            m.boxes,
            m.box_mask,
            m.modalities,
        )
        out.distance_m[i], out.east_m[i], out.north_m[i] = m.distance_m, m.east_m, m.north_m
        out.tx_in_view[i], out.num_boxes[i] = m.tx_in_view, m.num_boxes
        out.targets[i] = (t.rssi_db, t.path_loss_db, t.shadow_fading_db)
        out.has_cached_image[i] = image is not None
    return out


class InputDataset(Dataset):
    """(ModelInput, targets, index) of prepared samples; images come from the memory-mapped cache."""

    def __init__(self, prepared: PreparedSet, cache, image_size: int, with_image: bool) -> None:
        self.prepared = prepared
        self.cache = cache
        self.with_image = with_image
        self._blank = np.zeros((image_size, image_size, 3), np.uint8)
        self._blank.setflags(write=False)

    def __len__(self) -> int:
        return len(self.prepared)

    def __getitem__(self, i: int) -> tuple[ModelInput, NDArray[np.float32], int]:
        cached = self.with_image and self.cache is not None and self.prepared.has_cached_image[i]
        image = self.cache.image(self.prepared.keys[i]) if cached else self._blank
        return self.prepared.model_input(i, image), self.prepared.targets[i], i


def collate_training(
    items: Sequence[tuple[ModelInput, NDArray[np.float32], int]], with_image: bool
) -> tuple[Batch, torch.Tensor, torch.Tensor]:
    batch = collate([m for m, _, _ in items], with_image=with_image)
    y = torch.from_numpy(np.stack([t for _, t, _ in items]).astype(np.float32))
    idx = torch.tensor([i for _, _, i in items], dtype=torch.int64)
    return batch, y, idx


def collate_fn(with_image: bool):
    return partial(collate_training, with_image=with_image)


def epoch_batches(
    indices: NDArray[np.int64],
    batch_size: int,
    seed: int,
    stage: int,
    epoch: int,
    rank: int = 0,
    world_size: int = 1,
    shuffle: bool = True,
    min_batch: int = 2,
) -> list[list[int]]:
    """This rank's batches of one epoch: a permutation drawn from (seed, stage, epoch) only.

    No RNG state carries over between epochs, so a run resumed at an epoch boundary draws the same
    batches as an uninterrupted one. Under DDP the permutation is padded (wrapping around) to a
    multiple of the world size and dealt out, so every rank runs the same number of steps;
    `batch_size` is the global batch, split evenly across ranks. A trailing batch smaller than
    `min_batch` is dropped (BatchNorm cannot train on one sample).
    """
    idx = np.asarray(indices, dtype=np.int64)
    if shuffle:
        idx = idx[np.random.default_rng([seed, stage, epoch]).permutation(idx.size)]
    if world_size > 1:
        per_rank = math.ceil(idx.size / world_size)
        idx = np.resize(idx, per_rank * world_size)[rank::world_size]
    local = max(1, batch_size // world_size)
    batches = [idx[i : i + local].tolist() for i in range(0, idx.size, local)]
    if batches and len(batches[-1]) < min_batch and len(batches) > 1:
        batches.pop()
    return batches


def eval_batches(indices: NDArray[np.int64], batch_size: int) -> list[list[int]]:
    idx = np.asarray(indices, dtype=np.int64)
    return [idx[i : i + batch_size].tolist() for i in range(0, idx.size, batch_size)]


def resolve_paths(paths: Sequence[str], base: Path | None = None) -> list[Path]:
    out = []
    for p in paths:
        path = Path(p).expanduser()
        if not path.is_absolute() and base is not None and not path.exists() and (base / path).exists():
            path = base / path
        out.append(path)
    return out
