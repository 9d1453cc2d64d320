"""`Predictor`: one preprocessing path, the Estimate contract, backends and model ids."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from helpers.model_samples import make_samples

from rssi_ros.data.preprocess import PreprocessConfig, preprocess
from rssi_ros.inference.predictor import Predictor
from rssi_ros.model.checkpoint import CheckpointError, write_random_checkpoint
from rssi_ros.model.config import ModelConfig
from rssi_ros.physics.geodesy import relative_position
from rssi_ros.physics.labels import LabelDefinition, path_loss_db

PRE = PreprocessConfig(image_size=32, label=LabelDefinition(path_loss_exponent=2.2))


@pytest.fixture(scope="module")
def full_ckpt(tmp_path_factory):
    return write_random_checkpoint(tmp_path_factory.mktemp("pred") / "full.pt", ModelConfig(), PRE, seed=3)


def test_estimate_fields_follow_the_contract(full_ckpt):
    predictor = Predictor.load(full_ckpt)
    sha = hashlib.sha256(full_ckpt.read_bytes()).hexdigest()
    assert predictor.model_id == f"decomposed-learned-mlp@{sha[:8]}"
    assert predictor.backend == "torch"
    assert predictor.supported_modalities == ("position", "image", "boxes")
    assert predictor.label == PRE.label and predictor.preprocess_config == PRE
    sample = make_samples(1, seed=4)[0]
    est = predictor.predict(sample)
    rel = relative_position(sample.rx_lat, sample.rx_lon, sample.tx_lat, sample.tx_lon)
    assert est.distance_m == pytest.approx(float(rel.distance_m), abs=1e-9)
    assert est.east_m == pytest.approx(float(rel.east_m)) and est.north_m == pytest.approx(float(rel.north_m))
    assert est.rssi_db == pytest.approx(-(est.path_loss_db + est.shadow_fading_db), abs=1e-4)
    assert est.path_loss_exponent == 2.2
    assert est.tx_in_view and est.num_boxes == 1 + sum(not b.is_transmitter for b in sample.boxes)
    assert est.modalities == 0b111
    assert est.model_id == predictor.model_id and est.backend == "torch"


def test_modality_bits_report_what_was_used(full_ckpt, tmp_path):
    full = Predictor.load(full_ckpt)
    no_camera = make_samples(1, seed=5, with_image=False)[0]
    nothing = make_samples(1, seed=5, with_image=False, with_boxes=False)[0]
    assert full.predict(no_camera).modalities == 0b101
    assert full.predict(nothing).modalities == 0b001
    position_only = Predictor.load(
        write_random_checkpoint(tmp_path / "p.pt", ModelConfig(modalities=("position",)), PRE)
    )
    assert position_only.supported_modalities == ("position",)
    assert position_only.predict(make_samples(1, seed=5)[0]).modalities == 0b001


def test_predict_batch_and_predict_inputs_agree_with_predict(full_ckpt):
    predictor = Predictor.load(full_ckpt)
    samples = make_samples(5, seed=6)
    singles = [predictor.predict(s) for s in samples]
    batch = predictor.predict_batch(samples, batch_size=2)
    inputs = predictor.predict_inputs([preprocess(s, PRE, predictor.normaliser) for s in samples])
    for a, b, c in zip(singles, batch, inputs, strict=True):
        assert a.rssi_db == pytest.approx(b.rssi_db, abs=1e-5) and a.rssi_db == pytest.approx(
            c.rssi_db, abs=1e-5
        )
        assert a.distance_m == b.distance_m == c.distance_m
    assert predictor.predict_batch([]) == []


def test_analytic_model_path_loss_is_the_closed_form(tmp_path):
    ckpt = write_random_checkpoint(
        tmp_path / "a.pt", ModelConfig(pl_mode="analytic", modalities=("position",)), PRE
    )
    predictor = Predictor.load(ckpt)
    for sample in make_samples(4, seed=7):
        est = predictor.predict(sample)
        expected, _ = path_loss_db(est.distance_m, PRE.label)
        assert est.path_loss_db == pytest.approx(float(expected), abs=1e-4)


@pytest.mark.slow
def test_onnxruntime_backend_from_a_checkpoint_matches_torch(full_ckpt):
    torch_p = Predictor.load(full_ckpt)
    ort_p = Predictor.load(full_ckpt, backend="onnxruntime")
    assert ort_p.backend == "onnxruntime" and ort_p.model_id == torch_p.model_id
    samples = make_samples(6, seed=8) + make_samples(2, seed=9, with_image=False, with_boxes=False)
    for a, b in zip(torch_p.predict_batch(samples), ort_p.predict_batch(samples), strict=True):
        assert abs(a.rssi_db - b.rssi_db) < 1e-3 and abs(a.shadow_fading_db - b.shadow_fading_db) < 1e-3
        assert a.modalities == b.modalities


def test_load_errors_are_clear(tmp_path, full_ckpt):
    with pytest.raises(CheckpointError, match="not found"):
        Predictor.load(tmp_path / "nope.pt")
    with pytest.raises(ValueError, match="backend must be one of"):
        Predictor.load(full_ckpt, backend="tensorrt")
    onnx_file = tmp_path / "m.onnx"
    onnx_file.write_bytes(b"\x08\x07")
    with pytest.raises(ValueError, match="no torch weights"):
        Predictor.load(onnx_file, backend="torch")
    with pytest.raises(CheckpointError, match=r"without rssi_ros metadata|not a readable ONNX"):
        Predictor.load(onnx_file)


def test_foreign_onnx_model_is_refused(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "foreign",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    path = tmp_path / "foreign.onnx"
    onnx.save(helper.make_model(graph), path)
    with pytest.raises(CheckpointError, match="without rssi_ros metadata"):
        Predictor.load(path)


def test_warmup_runs(full_ckpt):
    Predictor.load(full_ckpt).warmup(batch_size=2)
    assert np.isfinite(Predictor.load(full_ckpt).predict(make_samples(1)[0]).rssi_db)
