"""The torch backend's frozen CPU graph: same numbers as eager, and eager whenever freezing fails."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from rssi_ros.inference import backends
from rssi_ros.inference.backends import TorchBackend
from rssi_ros.model.batch import random_batch
from rssi_ros.model.config import presets
from rssi_ros.model.networks import build_model

# Presets the node serves at batch 1 (resnet34 is covered by the same code and is slow to build).
NODE_PRESETS = (
    "decomposed-learned-mlp",
    "decomposed-learned-cnn",
    "decomposed-analytic-mlp",
    "position-only",
)
TOLERANCE_DB = 1e-4


@pytest.mark.parametrize("name", NODE_PRESETS)
def test_frozen_graph_equals_eager_at_any_batch_size(name):
    torch.manual_seed(0)
    model = build_model(presets()[name])
    frozen, eager = TorchBackend(model), TorchBackend(model, freeze=False)
    assert frozen.frozen and not eager.frozen
    pre = model.preprocess
    for batch_size in (1, 5):  # traced at another batch size than either
        batch = random_batch(batch_size, pre.image_size, pre.max_objects, pre.box_features, seed=7)
        for got, want in zip(frozen.run(batch), eager.run(batch), strict=True):
            assert got.shape == (batch_size,)
            np.testing.assert_allclose(got, want, atol=TOLERANCE_DB, rtol=0)


def test_modality_flags_still_switch_inputs_in_the_frozen_graph():
    """Tracing must not bake the example's modality flags in: a missing image changes the output."""
    torch.manual_seed(0)
    model = build_model(presets()["decomposed-learned-mlp"])
    backend = TorchBackend(model)
    pre = model.preprocess
    batch = random_batch(2, pre.image_size, pre.max_objects, pre.box_features, seed=3)
    batch.modalities = torch.ones(2, 3)
    with_image = backend.run(batch)[0]
    batch.modalities[:, 1] = 0.0
    without_image = backend.run(batch)[0]
    eager = TorchBackend(model, freeze=False).run(batch)[0]
    np.testing.assert_allclose(without_image, eager, atol=TOLERANCE_DB, rtol=0)
    assert np.all(np.abs(with_image - without_image) > 0)


def test_tracing_failure_falls_back_to_eager_and_says_so(monkeypatch, caplog):
    def broken_trace(*args, **kwargs):
        raise RuntimeError("cannot trace this")

    monkeypatch.setattr(torch.jit, "trace", broken_trace)
    model = build_model(presets()["position-only"])
    with caplog.at_level(logging.WARNING, logger=backends.__name__):
        backend = TorchBackend(model)
    assert not backend.frozen
    assert "tracing failed" in caplog.text and "cannot trace this" in caplog.text
    batch = random_batch(3, 224, model.preprocess.max_objects, model.preprocess.box_features)
    assert backend.run(batch)[0].shape == (3,)


def test_a_frozen_graph_that_disagrees_is_not_used(monkeypatch, caplog):
    real_freeze = torch.jit.freeze

    def skewed_freeze(module):
        frozen = real_freeze(module)

        def run(*inputs):
            rssi, pl, sh = frozen(*inputs)
            return rssi + 1.0, pl, sh

        return run

    monkeypatch.setattr(torch.jit, "freeze", skewed_freeze)
    model = build_model(presets()["position-only"])
    with caplog.at_level(logging.WARNING, logger=backends.__name__):
        backend = TorchBackend(model)
    assert not backend.frozen
    assert "differs from eager" in caplog.text
