"""Everything a run needs from the data layer, built the same way on every rank and on resume."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rssi_ros.data.normalisation import MinMaxNormaliser
from rssi_ros.data.preprocess import PreprocessConfig
from rssi_ros.data.sample import Sample
from rssi_ros.evaluation.selection import labelled, limit_samples
from rssi_ros.training.config import TrainConfig
from rssi_ros.training.data import PreparedSet, fit_normaliser, prepare, resolve_paths

log = logging.getLogger(__name__)


@dataclass
class RunData:
    samples: list[Sample]
    split: Any  # rssi_ros.data.splits.Split
    normaliser: MinMaxNormaliser
    preprocess: PreprocessConfig
    prepared: PreparedSet
    cache: Any  # rssi_ros.data.cache.ImageCache | None
    provenance: dict[str, Any] = field(default_factory=dict)
    datasets_meta: list[dict[str, Any]] = field(default_factory=list)


def read_samples(
    config: TrainConfig, preprocess: PreprocessConfig
) -> tuple[list[Sample], list[dict[str, Any]]]:
    """Read `data.paths` with the data layer's readers; returns samples and one summary per dataset."""
    from rssi_ros.data.readers import ReaderOptions, all_samples, read_datasets

    paths = resolve_paths(config.data.paths)
    if not paths:
        raise ValueError("no training data: set data.paths in the config or pass --data PATH...")
    options = ReaderOptions(
        gps_column=config.data.gps_column, classes=preprocess.classes, attach_images=config.model.uses_image
    )
    datasets = read_datasets(paths, options)
    summaries = [
        {
            "name": d.name,
            "source": d.source,
            "path": str(d.path) if d.path else None,
            "samples": len(d.samples),
            "skipped": dict(d.skipped),
            "irreducible_noise_db": (d.meta.get("irreducible_noise") or {}).get("std_db"),
        }
        for d in datasets
    ]
    return all_samples(datasets), summaries


def load_run_data(
    config: TrainConfig,
    preprocess: PreprocessConfig,
    progress: bool = False,
    samples: Sequence[Sample] | None = None,
) -> RunData:
    """Read (or take) samples, limit, split, fit the normaliser on train, cache images, preprocess."""
    from rssi_ros.data.cache import open_cache
    from rssi_ros.data.preprocess import count_clamped
    from rssi_ros.data.splits import make_split

    if samples is None:
        samples, summaries = read_samples(config, preprocess)
        source = {
            "paths": [str(p.resolve()) for p in resolve_paths(config.data.paths)],
            "datasets": summaries,
        }
    else:
        summaries = []
        source = {"paths": [], "datasets": [], "in_memory_samples": len(samples)}
    all_labelled = labelled(samples)
    used = limit_samples(all_labelled, config.data.limit_samples)
    if not used:
        raise ValueError("no labelled samples to train on")
    split = make_split(used, config.data.protocol, config.data.split_seed, tuple(config.data.fractions))
    normaliser = fit_normaliser([used[i] for i in split.train])
    cache = None
    if config.model.uses_image and any(s.has_image for s in used):
        cache = open_cache(used, preprocess, root=config.data.cache_root, progress=progress)
    elif config.model.uses_image:
        log.warning("the model reads images but no sample has one: it trains on the 'missing image' vector")
    prepared = prepare(used, preprocess, normaliser, cache, progress)
    split_json = split.to_json()
    provenance = {
        **source,
        "samples_read": len(samples),
        "samples_labelled": len(all_labelled),
        "samples_used": len(used),
        "limit_samples": config.data.limit_samples,
        "split": {
            "protocol": split.protocol,
            "seed": split.seed,
            "fractions": list(split.fractions),
            "sizes": split.sizes,
            "sha256": hashlib.sha256(split_json.encode()).hexdigest(),
        },
        "image_cache": getattr(cache, "fingerprint", None),
        "with_image": int(prepared.modalities[:, 1].sum()),
        "with_boxes": int(prepared.modalities[:, 2].sum()),
        "clamped_distance": count_clamped(used, preprocess.label),
    }
    log.info(
        "data: %d samples (%d with image, %d with boxes, %d closer than %.2f m: path loss clamped); "
        "split %s %s",
        len(used),
        provenance["with_image"],
        provenance["with_boxes"],
        provenance["clamped_distance"],
        preprocess.label.min_distance_m,
        split.protocol,
        split.sizes,
    )
    return RunData(list(used), split, normaliser, preprocess, prepared, cache, provenance, summaries)
