"""Which samples a run uses: labelled ones, optionally an evenly spread subset.

Shared by the trainer and the evaluator so `evaluate` reproduces the exact sample list (and thus
the split) of a training run that used `--limit-samples`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

from rssi_ros.data.sample import Sample

log = logging.getLogger(__name__)


def limit_samples(samples: list[Sample], limit: int | None) -> list[Sample]:
    """At most `limit` samples, evenly spread over the list (every scenario and drive stays represented)."""
    if limit is None or limit >= len(samples):
        return samples
    picks = np.unique(np.linspace(0, len(samples) - 1, limit).round().astype(int))
    log.info("limit_samples: using %d of %d samples (evenly spread)", picks.size, len(samples))
    return [samples[i] for i in picks]


def labelled(samples: Sequence[Sample]) -> list[Sample]:
    """Samples with a finite RSSI label; the others are counted and logged, never silently dropped."""
    keep = [s for s in samples if s.rssi_db is not None and math.isfinite(s.rssi_db)]
    if len(keep) < len(samples):
        log.warning(
            "%d samples without a finite RSSI label are not used for training", len(samples) - len(keep)
        )
    return keep
