"""Run a trained model (checkpoint or ONNX, via `Predictor`) over labelled samples and score it.

Samples are preprocessed in chunks by the one preprocessing path (images from the shared cache),
so memory stays bounded however many samples are scored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rssi_ros.data.preprocess import preprocess, targets
from rssi_ros.data.sample import Sample
from rssi_ros.evaluation.metrics import regression_metrics

log = logging.getLogger(__name__)

QUANTITIES = ("pl", "sh", "rssi")
CHUNK = 256


@dataclass
class EvalResult:
    """Predictions and labels (dB) of the scored samples, in sample order, plus their identity."""

    pred: dict[str, NDArray[np.float64]]
    true: dict[str, NDArray[np.float64]]
    scenario: list[str] = field(default_factory=list)
    seq_index: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    stamp: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    index: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    modalities: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def n(self) -> int:
        return int(self.true["rssi"].size)

    def metrics(self) -> dict[str, Any]:
        out: dict[str, Any] = {q: regression_metrics(self.pred[q], self.true[q]) for q in QUANTITIES}
        out["n"] = self.n
        return out

    def per_scenario(self) -> dict[str, dict[str, Any]]:
        scen = np.asarray(self.scenario)
        out = {}
        for s in sorted(set(self.scenario)):
            m = scen == s
            out[s] = {q: regression_metrics(self.pred[q][m], self.true[q][m]) for q in QUANTITIES}
        return out


def evaluate_samples(
    predictor, samples: Sequence[Sample], cache=None, interference_removed: bool | None = None
) -> EvalResult:
    """Predict every (labelled) sample; `interference_removed` overrides the preprocessing flag (Table IV)."""
    from tqdm import tqdm

    pre = predictor.preprocess_config
    if interference_removed is not None:
        pre = replace(pre, interference_removed=interference_removed)
    uses_image = "image" in predictor.supported_modalities
    pred = {q: np.zeros(len(samples)) for q in QUANTITIES}
    true = {q: np.zeros(len(samples)) for q in QUANTITIES}
    bits = np.zeros(len(samples), np.int64)
    for start in tqdm(
        range(0, len(samples), CHUNK),
        desc="evaluate",
        unit="chunk",
        leave=False,
        disable=True if len(samples) <= CHUNK else None,
    ):
        chunk = samples[start : start + CHUNK]
        inputs = []
        for sample in chunk:
            image = (
                cache.image(sample.key)
                if (uses_image and cache is not None and sample.key in cache)
                else None
            )
            if image is None and (not uses_image or cache is not None):
                # The model reads no image, or the cache has none for this sample: do not decode.
                sample = sample.with_(image=None, image_path=None)  # noqa: PLW2901
            inputs.append(preprocess(sample, pre, predictor.normaliser, image=image))
        estimates = predictor.predict_inputs(inputs)
        for j, (s, m, e) in enumerate(zip(chunk, inputs, estimates, strict=True)):
            i = start + j
            t = targets(s, m.distance_m, pre.label)
            pred["pl"][i], pred["sh"][i], pred["rssi"][i] = e.path_loss_db, e.shadow_fading_db, e.rssi_db
            true["pl"][i], true["sh"][i], true["rssi"][i] = t.path_loss_db, t.shadow_fading_db, t.rssi_db
            bits[i] = e.modalities
    return EvalResult(
        pred=pred,
        true=true,
        scenario=[s.scenario for s in samples],
        seq_index=np.array([s.seq_index for s in samples], np.int64),
        stamp=np.array([s.stamp for s in samples], np.float64),
        index=np.array([s.index for s in samples], np.int64),
        modalities=bits,
    )
