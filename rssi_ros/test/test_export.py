"""`python -m rssi_ros export`: ONNX with metadata, parity with torch, loud failure."""

from __future__ import annotations

import json

import onnx
import pytest
from helpers.model_samples import make_samples, write_small_scene

from rssi_ros.cli import main
from rssi_ros.data.preprocess import PreprocessConfig
from rssi_ros.inference import parity
from rssi_ros.inference.onnx_export import METADATA_KEY
from rssi_ros.inference.predictor import Predictor
from rssi_ros.model.checkpoint import write_random_checkpoint
from rssi_ros.model.config import ModelConfig

PRE = PreprocessConfig(image_size=32)


@pytest.mark.slow
def test_export_full_model_metadata_and_parity(tmp_path):
    ckpt = write_random_checkpoint(tmp_path / "m.pt", ModelConfig(box_encoder="cnn"), PRE, seed=2)
    out = tmp_path / "export" / "model.onnx"
    scene = write_small_scene(tmp_path / "scene", frames=12, seed=3).parent
    assert main(["export", "--checkpoint", str(ckpt), "--out", str(out), "--data", str(scene)]) == 0
    proto = onnx.load(out)
    meta = json.loads({p.key: p.value for p in proto.metadata_props}[METADATA_KEY])
    assert meta["model_config"]["box_encoder"] == "cnn"
    assert meta["preprocess_config"]["image_size"] == 32
    assert meta["onnx"]["source_checkpoint_sha256"]
    assert [i.name for i in proto.graph.input] == ["image", "position", "boxes", "box_mask", "modalities"]
    assert [o.name for o in proto.graph.output] == ["rssi_db", "path_loss_db", "shadow_fading_db"]
    sidecar = json.loads((tmp_path / "export" / "model.onnx.json").read_text())
    assert sidecar["parity"]["max_abs_diff_db"]["rssi_db"] <= 1e-3
    assert sidecar["parity"]["sources"] == ["random inputs", "real samples"]
    assert sidecar["parity"]["n_samples"] == sum(parity.RANDOM_BATCH_SIZES) + 12
    torch_p, onnx_p = Predictor.load(ckpt), Predictor.load(out)
    assert onnx_p.backend == "onnxruntime" and onnx_p.model_id.startswith("decomposed-learned-cnn@")
    assert onnx_p.normaliser == torch_p.normaliser and onnx_p.preprocess_config == PRE
    samples = make_samples(5, seed=1) + make_samples(2, seed=2, with_image=False)
    for a, b in zip(torch_p.predict_batch(samples), onnx_p.predict_batch(samples), strict=True):
        assert abs(a.rssi_db - b.rssi_db) < 1e-3 and abs(a.path_loss_db - b.path_loss_db) < 1e-3
        assert a.modalities == b.modalities


def test_position_only_graph_takes_only_what_it_reads(tmp_path):
    ckpt = write_random_checkpoint(tmp_path / "p.pt", ModelConfig(modalities=("position",)), PRE)
    out = tmp_path / "p.onnx"
    assert main(["export", "--checkpoint", str(ckpt), "--out", str(out)]) == 0
    assert [i.name for i in onnx.load(out).graph.input] == ["position", "modalities"]
    analytic = write_random_checkpoint(
        tmp_path / "a.pt", ModelConfig(modalities=("position",), pl_mode="analytic"), PRE
    )
    assert main(["export", "--checkpoint", str(analytic), "--out", str(tmp_path / "a.onnx")]) == 0
    assert [i.name for i in onnx.load(tmp_path / "a.onnx").graph.input] == [
        "position",
        "modalities",
        "distance",
    ]


def test_export_fails_loudly_and_writes_nothing_when_parity_breaks(tmp_path, monkeypatch, caplog):
    ckpt = write_random_checkpoint(tmp_path / "p.pt", ModelConfig(modalities=("position",)), PRE)
    original = parity.OnnxRuntimeBackend.run

    def off_by_a_bit(self, batch):
        rssi, pl, sh = original(self, batch)
        return rssi + 0.01, pl, sh

    monkeypatch.setattr(parity.OnnxRuntimeBackend, "run", off_by_a_bit)
    out = tmp_path / "p.onnx"
    assert main(["export", "--checkpoint", str(ckpt), "--out", str(out)]) == 1
    assert not out.exists() and not (tmp_path / "p.onnx.json").exists()
    assert "EXPORT FAILED" in caplog.text and "1.000e-02" in caplog.text


def test_export_refuses_a_bad_checkpoint(tmp_path, caplog):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["export", "--checkpoint", str(bad), "--out", str(tmp_path / "x.onnx")]) == 2
    assert "not a readable torch checkpoint" in caplog.text


@pytest.mark.shared_data
def test_export_checks_parity_on_real_samples(tmp_path, shared_data):
    ckpt = write_random_checkpoint(tmp_path / "p.pt", ModelConfig(modalities=("position",)), PRE)
    out = tmp_path / "p.onnx"
    args = [
        "export",
        "--checkpoint",
        str(ckpt),
        "--out",
        str(out),
        "--data",
        str(shared_data / "scenario6.npz"),
    ]
    assert main([*args, "--check-samples", "40"]) == 0
    report = json.loads((tmp_path / "p.onnx.json").read_text())["parity"]
    assert report["sources"] == ["random inputs", "real samples"]
    assert report["n_samples"] == sum(parity.RANDOM_BATCH_SIZES) + 40
