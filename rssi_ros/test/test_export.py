"""`python -m rssi_ros export`: ONNX with metadata, parity with torch, loud failure."""

from __future__ import annotations

import json
import sys

import numpy as np
import onnx
import pytest
from helpers.model_samples import make_samples, write_small_scene

from rssi_ros.cli import main
from rssi_ros.data.classes import ClassVocabulary
from rssi_ros.data.preprocess import PreprocessConfig
from rssi_ros.data.readers import ReaderOptions
from rssi_ros.inference import parity
from rssi_ros.inference.backends import TorchBackend
from rssi_ros.inference.onnx_export import METADATA_KEY, export_checkpoint, sidecar_path
from rssi_ros.inference.predictor import Predictor
from rssi_ros.model.checkpoint import load_checkpoint, save_checkpoint, write_random_checkpoint
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
    assert sidecar["parity"]["random_only"] is False and sidecar["parity"]["data_source"] == "--data"
    assert meta["parity"] == sidecar["parity"]  # the embedded metadata records the check too
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
    assert main(["export", "--checkpoint", str(ckpt), "--out", str(out), "--random-only"]) == 0
    assert [i.name for i in onnx.load(out).graph.input] == ["position", "modalities"]
    analytic = write_random_checkpoint(
        tmp_path / "a.pt", ModelConfig(modalities=("position",), pl_mode="analytic"), PRE
    )
    args = ["export", "--checkpoint", str(analytic), "--out", str(tmp_path / "a.onnx"), "--random-only"]
    assert main(args) == 0
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
    assert main(["export", "--checkpoint", str(ckpt), "--out", str(out), "--random-only"]) == 1
    assert not out.exists() and not (tmp_path / "p.onnx.json").exists()
    assert "EXPORT FAILED" in caplog.text and "1.000e-02" in caplog.text


def test_export_refuses_a_bad_checkpoint(tmp_path, caplog):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["export", "--checkpoint", str(bad), "--out", str(tmp_path / "x.onnx"), "--random-only"]) == 2
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


def _position_checkpoint(tmp_path, provenance: dict | None = None, pre: PreprocessConfig = PRE):
    path = write_random_checkpoint(tmp_path / "p.pt", ModelConfig(modalities=("position",)), pre)
    if provenance is not None:
        ckpt = load_checkpoint(path)
        ckpt.provenance = provenance
        save_checkpoint(ckpt, path)
    return path


def test_export_without_data_refuses_unless_random_only(tmp_path, caplog):
    ckpt = _position_checkpoint(tmp_path)  # a random checkpoint records no training data
    out = tmp_path / "p.onnx"
    assert main(["export", "--checkpoint", str(ckpt), "--out", str(out)]) == 2
    assert "pass --data PATH" in caplog.text and "--random-only" in caplog.text
    assert not out.exists()
    # Recorded training data that is gone is refused the same way.
    gone = {"data": {"paths": [str(tmp_path / "moved_away")]}}
    ckpt = _position_checkpoint(tmp_path, gone)
    caplog.clear()
    assert main(["export", "--checkpoint", str(ckpt), "--out", str(out)]) == 2
    assert "moved_away" in caplog.text and "not readable" in caplog.text and "--random-only" in caplog.text
    # --random-only accepts it, and says so in the metadata.
    assert main(["export", "--checkpoint", str(ckpt), "--out", str(out), "--random-only"]) == 0
    report = json.loads(sidecar_path(out).read_text())["parity"]
    assert report["random_only"] is True and report["sources"] == ["random inputs"]
    assert report["data"] == [] and report["data_source"] is None


def test_export_defaults_to_the_recorded_training_data_read_like_the_trainer(tmp_path, monkeypatch):
    from rssi_ros.data import readers

    scene = write_small_scene(tmp_path / "scene", frames=12, seed=4).parent
    classes = ClassVocabulary.of(["car", "truck", "other"])
    pre = PreprocessConfig(image_size=32, classes=classes)
    provenance = {"data": {"paths": [str(scene)]}, "config": {"data": {"gps_column": "unit2_loc_cal"}}}
    ckpt = _position_checkpoint(tmp_path, provenance, pre)
    seen: list[ReaderOptions] = []
    original = readers.read_datasets

    def spy(paths, options=None, **kwargs):
        seen.append(options)
        return original(paths, options, **kwargs)

    monkeypatch.setattr(readers, "read_datasets", spy)
    out = tmp_path / "p.onnx"
    assert main(["export", "--checkpoint", str(ckpt), "--out", str(out), "--check-samples", "5"]) == 0
    report = json.loads(sidecar_path(out).read_text())["parity"]
    assert report["sources"] == ["random inputs", "real samples"]
    assert report["data_source"] == "checkpoint provenance" and report["data"] == [str(scene)]
    assert report["n_samples"] == sum(parity.RANDOM_BATCH_SIZES) + 5
    assert len(seen) == 1 and seen[0].classes == classes and seen[0].gps_column == "unit2_loc_cal"
    assert seen[0].attach_images is False  # a position-only model reads no images


def test_parity_compares_against_eager_torch_and_fails_on_a_torch_nan(tmp_path, monkeypatch):
    ckpt = load_checkpoint(_position_checkpoint(tmp_path))
    model = ckpt.build_model()
    data, _ = export_checkpoint(ckpt)
    backends = []

    class Recording(TorchBackend):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            backends.append(self)

    monkeypatch.setattr(parity, "TorchBackend", Recording)
    clean = parity.compare(model, data, parity.random_batches(model), "random inputs")
    assert clean.ok() and [b.frozen for b in backends] == [False]

    eager_run = TorchBackend.run

    def nan_rssi(self, batch):
        rssi, pl, sh = eager_run(self, batch)
        rssi = rssi.copy()
        rssi[0] = np.nan
        return rssi, pl, sh

    monkeypatch.setattr(Recording, "run", nan_rssi)
    report = parity.compare(model, data, parity.random_batches(model), "random inputs")
    assert report.max_abs_diff_db["rssi_db"] == float("inf") and not report.ok()
    assert report.max_abs_diff_db["path_loss_db"] <= parity.PARITY_TOLERANCE_DB


@pytest.mark.parametrize("module", ["onnx", "onnxruntime"])
def test_missing_export_extra_is_a_clear_message(tmp_path, monkeypatch, caplog, module):
    monkeypatch.setitem(sys.modules, module, None)  # what an environment without the extra looks like
    ckpt = _position_checkpoint(tmp_path)
    out = tmp_path / "p.onnx"
    assert main(["export", "--checkpoint", str(ckpt), "--out", str(out), "--random-only"]) == 2
    assert "pip install 'rssi_ros[export]'" in caplog.text and module in caplog.text
    caplog.clear()
    args = ["evaluate", "--checkpoint", str(ckpt), "--backend", "onnxruntime", "--data", str(tmp_path)]
    assert main(args) == 2
    assert "pip install 'rssi_ros[export]'" in caplog.text and "onnxruntime backend" in caplog.text


@pytest.mark.parametrize("module", ["onnx", "onnxruntime"])
def test_predictor_without_the_export_extra_names_the_install_command(tmp_path, monkeypatch, module):
    """The node and the benchmarks load models through Predictor: they get the same clear error."""
    from rssi_ros.inference.dependencies import ExportDependencyError
    from rssi_ros.inference.predictor import Predictor

    ckpt = _position_checkpoint(tmp_path)
    onnx_file = tmp_path / "p.onnx"
    assert main(["export", "--checkpoint", str(ckpt), "--out", str(onnx_file), "--random-only"]) == 0
    monkeypatch.setitem(sys.modules, module, None)
    for path, backend in ((ckpt, "onnxruntime"), (onnx_file, "auto")):
        with pytest.raises(ExportDependencyError, match=r"pip install 'rssi_ros\[export\]'"):
            Predictor.load(path, backend=backend)
    assert Predictor.load(ckpt, backend="torch").backend == "torch"  # torch needs neither
