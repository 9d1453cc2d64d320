"""The networks: parameter counts (Table I), the decomposition, modality masks, box encoders."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from rssi_ros.data.preprocess import PreprocessConfig
from rssi_ros.model.batch import random_batch
from rssi_ros.model.config import PAPER_PARAMETER_BUDGET, ModelConfig, presets
from rssi_ros.model.networks import build_model
from rssi_ros.model.params import parameter_counts
from rssi_ros.physics.labels import LabelDefinition, path_loss_db

SMALL = PreprocessConfig(image_size=32)
# Closed-form sizes of the small parts with the default config (10 box slots x 13 features).
F = PreprocessConfig().box_features * PreprocessConfig().max_objects
EXPECTED = {
    "position_encoder": 2 * 32 + 32,
    "box_encoder_mlp": F * 128 + 128 + 128 * 64 + 64,
    "box_encoder_cnn": 13 * 128 + 128 + 128 * 64 + 64,
    "pl_head": (128 + 32) * 64 + 64 + 64 + 1,
    "sh_head": (64 + 128 + 32) * 64 + 64 + 64 + 1,
    # timm mobilenetv3_small_050 without classifier (568,224) + projection 1024 -> 128.
    "image_encoder": 568_224 + 1024 * 128 + 128,
}


def _batch(pre: PreprocessConfig, n: int = 4, seed: int = 0):
    b = random_batch(n, pre.image_size, pre.max_objects, pre.box_features, seed=seed)
    b.modalities = torch.ones_like(b.modalities)
    return b


@pytest.mark.slow
def test_parameter_counts_of_every_model_at_224(capsys):
    rows = {}
    for name, config in presets().items():
        rows[name] = parameter_counts(build_model(config))
    with capsys.disabled():
        print("\nmodel parameters (224x224 input):")
        for name, counts in rows.items():
            parts = ", ".join(f"{k} {v:,}" for k, v in counts.items() if k not in ("total", "trainable"))
            print(f"  {name:26s} {counts['total']:>12,}  ({parts})")
    default = rows["decomposed-learned-mlp"]
    assert default["total"] <= PAPER_PARAMETER_BUDGET
    assert default["position_encoder"] == EXPECTED["position_encoder"]
    assert default["box_encoder"] == EXPECTED["box_encoder_mlp"]
    assert rows["decomposed-learned-cnn"]["box_encoder"] == EXPECTED["box_encoder_cnn"]
    assert default["pl_head"] == EXPECTED["pl_head"]
    assert default["sh_head"] == EXPECTED["sh_head"]
    assert default["image_encoder"] == EXPECTED["image_encoder"]
    assert "pl_head" not in rows["decomposed-analytic-mlp"]
    assert rows["position-only"]["total"] < 10_000
    # The paper's baseline family is an order of magnitude larger than the default model.
    assert rows["image-only-resnet34"]["total"] > 10 * default["total"]


@pytest.mark.slow
def test_default_model_forward_at_224():
    model = build_model(ModelConfig()).eval()
    batch = _batch(PreprocessConfig(), n=2)
    with torch.no_grad():
        rssi, pl, sh = model(*batch.as_tuple())
    assert rssi.shape == pl.shape == sh.shape == (2,)
    assert torch.isfinite(rssi).all()


@pytest.mark.parametrize("name", ["decomposed-learned-mlp", "decomposed-analytic-mlp", "brute-force-mlp"])
def test_rssi_is_minus_pl_plus_sh(name):
    torch.manual_seed(0)
    model = build_model(presets()[name], SMALL).eval()
    with torch.no_grad():
        rssi, pl, sh = model(*_batch(SMALL).as_tuple())
    torch.testing.assert_close(rssi, -(pl + sh), rtol=0, atol=1e-5)


def test_analytic_path_loss_equals_the_label_definition():
    label = LabelDefinition(path_loss_exponent=2.7, min_distance_m=3.0)
    pre = PreprocessConfig(image_size=32, label=label)
    model = build_model(ModelConfig(pl_mode="analytic", modalities=("position",)), pre).eval()
    batch = _batch(pre, n=5)
    batch.distance = torch.tensor([0.0, 1.0, 3.0, 10.0, 250.0])
    with torch.no_grad():
        _, pl, _ = model(*batch.as_tuple())
    expected, clamped = path_loss_db(batch.distance.numpy(), label)
    np.testing.assert_allclose(pl.numpy(), expected, atol=1e-4)
    assert clamped.tolist() == [True, True, False, False, False]
    assert pl[0].item() == pytest.approx(27.0 * np.log10(3.0), abs=1e-4)


@pytest.mark.parametrize("flag,fields", [(1, ("image",)), (2, ("boxes", "box_mask"))])
def test_missing_modality_ignores_its_input(flag, fields):
    torch.manual_seed(0)
    model = build_model(ModelConfig(), SMALL).eval()
    a, other = _batch(SMALL, seed=1), _batch(SMALL, seed=2)
    # b differs from a only in the content of one modality.
    b = replace(a, **{f: getattr(other, f) for f in fields})
    with torch.no_grad():
        present_a, present_b = model(*a.as_tuple()), model(*b.as_tuple())
        for batch in (a, b):
            batch.modalities = batch.modalities.clone()
            batch.modalities[:, flag] = 0.0
        missing_a, missing_b = model(*a.as_tuple()), model(*b.as_tuple())
    torch.testing.assert_close(missing_a, missing_b, rtol=0, atol=0)
    assert not torch.allclose(present_a[0], present_b[0])


@pytest.mark.parametrize("encoder", ["mlp", "cnn"])
def test_box_padding_is_invisible(encoder):
    torch.manual_seed(0)
    model = build_model(ModelConfig(box_encoder=encoder), SMALL).eval()
    batch = _batch(SMALL)
    batch.box_mask = torch.zeros_like(batch.box_mask)
    batch.box_mask[:, :3] = 1.0
    with torch.no_grad():
        ref = model(*batch.as_tuple())
        batch.boxes[:, 3:] = torch.rand_like(batch.boxes[:, 3:]) * 5.0
        again = model(*batch.as_tuple())
    torch.testing.assert_close(ref, again, rtol=0, atol=0)


def test_cnn_box_encoder_is_order_invariant_mlp_is_not():
    torch.manual_seed(0)
    pre = SMALL
    batch = _batch(pre)
    batch.box_mask = torch.ones_like(batch.box_mask)
    perm = torch.randperm(pre.max_objects)
    outs = {}
    for encoder in ("cnn", "mlp"):
        torch.manual_seed(0)
        model = build_model(ModelConfig(box_encoder=encoder), pre).eval()
        with torch.no_grad():
            ref = model(*batch.as_tuple())[0]
            b2 = replace(batch, boxes=batch.boxes[:, perm], box_mask=batch.box_mask[:, perm])
            outs[encoder] = (ref, model(*b2.as_tuple())[0])
    torch.testing.assert_close(*outs["cnn"], rtol=0, atol=1e-5)
    assert not torch.allclose(*outs["mlp"])


def test_position_only_model_reads_only_position():
    model = build_model(presets()["position-only"], SMALL).eval()
    assert model.used_inputs == ("position", "modalities")
    a, b = _batch(SMALL, seed=1), _batch(SMALL, seed=2)
    b.position = a.position
    with torch.no_grad():
        torch.testing.assert_close(model(*a.as_tuple()), model(*b.as_tuple()), rtol=0, atol=0)


def test_target_statistics_map_head_outputs_to_db():
    torch.manual_seed(0)
    model = build_model(ModelConfig(architecture="brute_force", modalities=("position",)), SMALL).eval()
    batch = _batch(SMALL)
    with torch.no_grad():
        base = model(*batch.as_tuple())[0]
        model.set_target_statistics([-60.0, 40.0, 20.0], [4.0, 3.0, 2.0])
        scaled = model(*batch.as_tuple())[0]
    torch.testing.assert_close(scaled, base * 4.0 - 60.0, rtol=0, atol=1e-4)
    with pytest.raises(ValueError, match="finite"):
        model.set_target_statistics([float("nan")] * 3, [1.0] * 3)


def test_frozen_backbone_has_no_gradients_and_keeps_batchnorm_statistics():
    model = build_model(ModelConfig(), SMALL)
    model.set_backbone_frozen(True)
    model.train()
    assert not model.image_encoder.backbone.training
    assert model.image_encoder.projection.training
    assert all(not p.requires_grad for p in model.backbone_parameters())
    before = {k: v.clone() for k, v in model.image_encoder.backbone.state_dict().items()}
    rssi, _, _ = model(*_batch(SMALL).as_tuple())
    rssi.sum().backward()
    assert all(p.grad is None for p in model.backbone_parameters())
    for k, v in model.image_encoder.backbone.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)
    model.set_backbone_frozen(False)
    assert model.image_encoder.backbone.training
    assert all(p.requires_grad for p in model.backbone_parameters())


def test_model_config_validation_and_round_trip():
    cfg = ModelConfig(box_encoder="cnn", pl_mode="analytic", modalities=("boxes", "position"))
    assert cfg.modalities == ("position", "boxes")
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.display_name == "decomposed-analytic-cnn-noimage"
    with pytest.raises(ValueError, match="pl_mode"):
        ModelConfig(pl_mode="magic")
    with pytest.raises(ValueError, match="position"):
        ModelConfig(modalities=("image",))
    with pytest.raises(ValueError, match="unknown model config keys"):
        ModelConfig.from_dict({"architecture": "decomposed", "colour": "red"})


def test_local_encoder_weights_file_is_loaded(tmp_path):
    import timm

    torch.manual_seed(123)
    source = timm.create_model("mobilenetv3_small_050", pretrained=False, num_classes=10)
    path = tmp_path / "weights.pth"
    torch.save({"state_dict": source.state_dict()}, path)
    model = build_model(ModelConfig(encoder_weights=str(path)), SMALL)
    got = model.image_encoder.backbone.state_dict()
    for k, v in source.state_dict().items():
        if not k.startswith("classifier."):
            torch.testing.assert_close(got[k], v, rtol=0, atol=0)
    with pytest.raises(FileNotFoundError):
        build_model(ModelConfig(encoder_weights=str(tmp_path / "missing.pth")), SMALL)
    torch.save({"unrelated.weight": torch.zeros(3)}, tmp_path / "foreign.pth")
    with pytest.raises(ValueError, match="matches the backbone"):
        build_model(ModelConfig(encoder_weights=str(tmp_path / "foreign.pth")), SMALL)
