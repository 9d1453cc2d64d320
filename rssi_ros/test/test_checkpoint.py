"""Checkpoints: round trip, atomic writes, and clear refusal of bad or foreign files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from rssi_ros.data.classes import ClassVocabulary
from rssi_ros.data.normalisation import MinMaxNormaliser
from rssi_ros.data.preprocess import PreprocessConfig
from rssi_ros.model import checkpoint as ckpt_mod
from rssi_ros.model.batch import random_batch
from rssi_ros.model.checkpoint import (
    FORMAT_VERSION,
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
    write_random_checkpoint,
)
from rssi_ros.model.config import ModelConfig
from rssi_ros.model.networks import build_model
from rssi_ros.physics.labels import LabelDefinition

PRE = PreprocessConfig(
    image_size=32,
    max_objects=5,
    classes=ClassVocabulary.of(["car", "bus", "other"]),
    label=LabelDefinition(path_loss_exponent=2.3, min_distance_m=2.0),
)
NORM = MinMaxNormaliser((-50.0, 3.0), (70.0, 140.0))


def _trained_looking_model(config: ModelConfig):
    torch.manual_seed(7)
    model = build_model(config, PRE)
    model.set_target_statistics([-55.0, 38.0, 17.0], [4.0, 2.5, 3.5])
    return model.eval()


@pytest.mark.parametrize("config", [ModelConfig(), ModelConfig(box_encoder="cnn", pl_mode="analytic")])
def test_round_trip_gives_identical_predictions_and_metadata(tmp_path, config):
    model = _trained_looking_model(config)
    ckpt = Checkpoint.from_model(model, NORM, metrics={"val_rmse": 0.5}, provenance={"data": ["x"]})
    path = save_checkpoint(ckpt, tmp_path / "m.pt")
    loaded = load_checkpoint(path)
    assert loaded.model_config == config
    assert loaded.preprocess_config == PRE
    assert loaded.normaliser == NORM
    assert loaded.metrics == {"val_rmse": 0.5} and loaded.provenance == {"data": ["x"]}
    assert loaded.versions["torch"] == str(torch.__version__)
    meta = loaded.metadata()
    assert meta["label"] == {"path_loss_exponent": 2.3, "min_distance_m": 2.0}
    assert meta["classes"] == ["car", "bus", "other"] and meta["box_encoder"] == config.box_encoder
    batch = random_batch(6, PRE.image_size, PRE.max_objects, PRE.box_features, seed=3)
    rebuilt = loaded.build_model()
    with torch.no_grad():
        for a, b in zip(model(*batch.as_tuple()), rebuilt(*batch.as_tuple()), strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_random_checkpoint_is_valid_deterministic_and_leaves_global_rng_alone(tmp_path):
    torch.manual_seed(99)
    expected_next = torch.rand(1)
    torch.manual_seed(99)
    a = write_random_checkpoint(tmp_path / "a.pt", preprocess_config=PRE, seed=1)
    assert torch.rand(1).item() == expected_next.item()
    b = write_random_checkpoint(tmp_path / "b.pt", preprocess_config=PRE, seed=1)
    c = write_random_checkpoint(tmp_path / "c.pt", preprocess_config=PRE, seed=2)
    sa, sb, sc = (load_checkpoint(p).state_dict for p in (a, b, c))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    assert load_checkpoint(a).preprocess_config == PRE


def test_atomic_save_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = write_random_checkpoint(tmp_path / "last.pt", ModelConfig(modalities=("position",)), PRE, seed=1)
    before = path.read_bytes()

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt_mod.torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        write_random_checkpoint(path, ModelConfig(modalities=("position",)), PRE, seed=2)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["last.pt"]


def _expect_refusal(path: Path, *fragments: str) -> None:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message or "not found" in message
    for fragment in fragments:
        assert fragment in message, message


class _Arbitrary:
    """Stand-in for a foreign pickled object."""

    def __init__(self) -> None:
        self.x = 1


def test_bad_and_foreign_files_are_refused_with_clear_messages(tmp_path):
    _expect_refusal(tmp_path / "missing.pt", "not found")
    (tmp_path / "empty.pt").write_bytes(b"")
    _expect_refusal(tmp_path / "empty.pt", "not a readable torch checkpoint")
    (tmp_path / "noise.pt").write_bytes(os.urandom(4096))
    _expect_refusal(tmp_path / "noise.pt", "not a readable torch checkpoint")
    good = write_random_checkpoint(tmp_path / "good.pt", ModelConfig(modalities=("position",)), PRE)
    data = good.read_bytes()
    (tmp_path / "truncated.pt").write_bytes(data[: len(data) // 2])
    _expect_refusal(tmp_path / "truncated.pt", "truncated")
    torch.save(torch.nn.Linear(2, 2).state_dict(), tmp_path / "foreign.pt")
    _expect_refusal(tmp_path / "foreign.pt", "not an rssi_ros checkpoint", "format tag None")
    torch.save({"obj": _Arbitrary()}, tmp_path / "pickle.pt")
    _expect_refusal(tmp_path / "pickle.pt", "refusing to unpickle")
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    _expect_refusal(tmp_path / "model.onnx", "Predictor.load")

    d = torch.load(good, weights_only=True)
    torch.save({**d, "format_version": FORMAT_VERSION + 1}, tmp_path / "newer.pt")
    _expect_refusal(tmp_path / "newer.pt", "newer rssi_ros")
    torch.save({k: v for k, v in d.items() if k != "normaliser"}, tmp_path / "partial.pt")
    _expect_refusal(tmp_path / "partial.pt", "missing ['normaliser']")
    torch.save({**d, "model_config": {**d["model_config"], "pl_mode": "magic"}}, tmp_path / "badcfg.pt")
    _expect_refusal(tmp_path / "badcfg.pt", "invalid configuration", "pl_mode")
    # Weights of another architecture under this config: loads, but building the model is refused.
    other = build_model(ModelConfig(), PRE).state_dict()
    torch.save({**d, "state_dict": other}, tmp_path / "mismatch.pt")
    with pytest.raises(CheckpointError, match="do not match the model config"):
        load_checkpoint(tmp_path / "mismatch.pt").build_model()
