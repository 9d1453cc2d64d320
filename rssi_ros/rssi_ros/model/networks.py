"""The decomposed model of the paper and the comparison models, with one shared interface.

Every model takes the same six tensors and returns (rssi_db, path_loss_db, shadow_fading_db), each
of shape (B,), so the trainer, the evaluator, the predictor and the ONNX export treat them alike:

    image       (B, 3, S, S) float, RGB on the 0..255 scale (a cast of the uint8 image)
    position    (B, 2) float, normalised [east, north]
    boxes       (B, K, F) float, box slots (slot 0 the transmitter)
    box_mask    (B, K) float, 1 where a slot holds an object
    modalities  (B, 3) float, 1 where [position, image, boxes] is available
    distance    (B,) float, Rx-Tx distance in metres

Models that do not regress PL (analytic PL, brute force, image only) return the closed-form PL
of the distance and SH = -RSSI - PL, so every model fills every output consistently.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rssi_ros.data.preprocess import MODALITY_BOXES, MODALITY_IMAGE, MODALITY_POSITION, PreprocessConfig
from rssi_ros.model.config import (
    BRUTE_FORCE,
    DECOMPOSED,
    IMAGE_ONLY,
    MODALITY_NAMES,
    ModelConfig,
)
from rssi_ros.model.encoders import (
    BoxEncoderCNN,
    BoxEncoderMLP,
    ImageEncoder,
    ModalityGate,
    PositionEncoder,
)
from rssi_ros.model.heads import RegressionHead, analytic_path_loss

INPUT_NAMES = ("image", "position", "boxes", "box_mask", "modalities", "distance")
OUTPUT_NAMES = ("rssi_db", "path_loss_db", "shadow_fading_db")
# Index of each target in the target statistics buffers.
TARGET_RSSI, TARGET_PL, TARGET_SH = 0, 1, 2
# Smallest target standard deviation used for output scaling (a constant target would divide by 0).
MIN_TARGET_STD = 1e-3


class RssiModel(nn.Module):
    """Shared parts: the encoders of the configured modalities, gating, output scaling, label constants.

    Heads regress standardised targets; `target_mean`/`target_std` (buffers, saved with the
    weights) map them back to dB, so an untrained head starts near the training mean instead of
    tens of dB away, and the loss can stay in dB as the paper defines it.
    """

    def __init__(self, config: ModelConfig, preprocess: PreprocessConfig) -> None:
        super().__init__()
        self.config = config
        self.preprocess = preprocess
        label = preprocess.label
        self.register_buffer("path_loss_exponent", torch.tensor(float(label.path_loss_exponent)))
        self.register_buffer("min_distance_m", torch.tensor(float(label.min_distance_m)))
        self.register_buffer("target_mean", torch.zeros(3))
        self.register_buffer("target_std", torch.ones(3))
        supported = [float(m in config.modalities) for m in MODALITY_NAMES]
        self.register_buffer("supported", torch.tensor(supported), persistent=False)
        self.position_encoder: PositionEncoder | None = None
        self.image_encoder: ImageEncoder | None = None
        self.box_encoder: nn.Module | None = None
        if config.uses_position:
            self.position_encoder = PositionEncoder(config.position_embedding)
            self.position_gate = ModalityGate(config.position_embedding)
        if config.uses_image:
            self.image_encoder = ImageEncoder(
                config.image_encoder, config.image_embedding, config.encoder_weights
            )
            self.image_gate = ModalityGate(config.image_embedding)
        if config.uses_boxes:
            features, k = preprocess.box_features, preprocess.max_objects
            if config.box_encoder == "mlp":
                self.box_encoder = BoxEncoderMLP(k, features, config.box_hidden, config.box_embedding)
            else:
                self.box_encoder = BoxEncoderCNN(
                    features, config.box_hidden, config.box_embedding, config.box_pool
                )
            self.box_gate = ModalityGate(config.box_embedding)

    # --- pieces the subclasses combine -------------------------------------------------------
    def embeddings(
        self, image: Tensor, position: Tensor, boxes: Tensor, box_mask: Tensor, modalities: Tensor
    ) -> dict[str, Tensor]:
        present = modalities.to(position.dtype) * self.supported
        out: dict[str, Tensor] = {}
        if self.position_encoder is not None:
            out["position"] = self.position_gate(
                self.position_encoder(position), present[:, MODALITY_POSITION]
            )
        if self.image_encoder is not None:
            out["image"] = self.image_gate(self.image_encoder(image), present[:, MODALITY_IMAGE])
        if self.box_encoder is not None:
            out["boxes"] = self.box_gate(self.box_encoder(boxes, box_mask), present[:, MODALITY_BOXES])
        return out

    def embedding_width(self, names: tuple[str, ...]) -> int:
        widths = {
            "position": self.config.position_embedding if self.config.uses_position else 0,
            "image": self.config.image_embedding if self.config.uses_image else 0,
            "boxes": self.config.box_embedding if self.config.uses_boxes else 0,
        }
        return sum(widths[n] for n in names)

    @staticmethod
    def concat(embeddings: dict[str, Tensor], names: tuple[str, ...]) -> Tensor:
        return torch.cat([embeddings[n] for n in names if n in embeddings], dim=-1)

    def scale(self, standardised: Tensor, target: int) -> Tensor:
        return standardised * self.target_std[target] + self.target_mean[target]

    def analytic_pl(self, distance: Tensor) -> Tensor:
        return analytic_path_loss(distance, self.path_loss_exponent, self.min_distance_m)

    # --- public ------------------------------------------------------------------------------
    def set_target_statistics(self, mean: Tensor | list[float], std: Tensor | list[float]) -> None:
        """Set the dB mean/std of [RSSI, PL, SH] on the training split (before training starts)."""
        mean_t = torch.as_tensor(mean, dtype=torch.float32).reshape(3)
        std_t = torch.as_tensor(std, dtype=torch.float32).reshape(3).clamp(min=MIN_TARGET_STD)
        if not (torch.isfinite(mean_t).all() and torch.isfinite(std_t).all()):
            raise ValueError("target statistics must be finite")
        self.target_mean.copy_(mean_t)
        self.target_std.copy_(std_t)

    def backbone_parameters(self) -> list[nn.Parameter]:
        """Parameters of the pretrained-style image backbone (frozen in stage 1)."""
        return list(self.image_encoder.backbone.parameters()) if self.image_encoder is not None else []

    def set_backbone_frozen(self, frozen: bool) -> None:
        """Freeze/unfreeze the image backbone; a frozen backbone also keeps its BatchNorm statistics."""
        for p in self.backbone_parameters():
            p.requires_grad_(not frozen)
        self._backbone_frozen = frozen
        self.train(self.training)

    def train(self, mode: bool = True) -> RssiModel:
        super().train(mode)
        if getattr(self, "_backbone_frozen", False) and self.image_encoder is not None:
            self.image_encoder.backbone.eval()
        return self

    @property
    def used_inputs(self) -> tuple[str, ...]:
        """The inputs `forward` reads (an exported graph keeps only these)."""
        names = ["modalities"]
        if self.config.uses_image:
            names.append("image")
        if self.config.uses_position:
            names.append("position")
        if self.config.uses_boxes:
            names += ["boxes", "box_mask"]
        if not self.config.learns_path_loss:
            names.append("distance")
        return tuple(n for n in INPUT_NAMES if n in names)

    def forward(
        self,
        image: Tensor,
        position: Tensor,
        boxes: Tensor,
        box_mask: Tensor,
        modalities: Tensor,
        distance: Tensor,
    ) -> tuple[Tensor, Tensor, Tensor]:
        raise NotImplementedError


class DecomposedModel(RssiModel):
    """The paper's model: PL head on [image, position], SH head on [boxes, image, position].

    With `pl_mode: analytic` the PL head is not built: PL is the closed form of the GPS distance
    (which is exactly how the PL label is defined), and only SH is learned.
    """

    PL_INPUTS = ("image", "position")
    SH_INPUTS = ("boxes", "image", "position")

    def __init__(self, config: ModelConfig, preprocess: PreprocessConfig) -> None:
        super().__init__(config, preprocess)
        self.pl_head = (
            RegressionHead(self.embedding_width(self.PL_INPUTS), config.head_hidden)
            if config.learns_path_loss
            else None
        )
        self.sh_head = RegressionHead(self.embedding_width(self.SH_INPUTS), config.head_hidden)

    def forward(self, image, position, boxes, box_mask, modalities, distance):
        e = self.embeddings(image, position, boxes, box_mask, modalities)
        sh = self.scale(self.sh_head(self.concat(e, self.SH_INPUTS)), TARGET_SH)
        if self.pl_head is not None:
            pl = self.scale(self.pl_head(self.concat(e, self.PL_INPUTS)), TARGET_PL)
        else:
            pl = self.analytic_pl(distance)
        return -(pl + sh), pl, sh


class BruteForceModel(RssiModel):
    """Same encoders, one head regressing RSSI directly (the paper's ablation of the decomposition)."""

    INPUTS = ("boxes", "image", "position")

    def __init__(self, config: ModelConfig, preprocess: PreprocessConfig) -> None:
        super().__init__(config, preprocess)
        self.head = RegressionHead(self.embedding_width(self.INPUTS), config.head_hidden)

    def forward(self, image, position, boxes, box_mask, modalities, distance):
        e = self.embeddings(image, position, boxes, box_mask, modalities)
        rssi = self.scale(self.head(self.concat(e, self.INPUTS)), TARGET_RSSI)
        pl = self.analytic_pl(distance)
        return rssi, pl, -rssi - pl


class ImageOnlyModel(RssiModel):
    """A baseline-size image regressor (resnet34 by default): image -> RSSI, nothing else."""

    def __init__(self, config: ModelConfig, preprocess: PreprocessConfig) -> None:
        super().__init__(config, preprocess)
        self.head = RegressionHead(config.image_embedding, config.head_hidden)

    def forward(self, image, position, boxes, box_mask, modalities, distance):
        e = self.embeddings(image, position, boxes, box_mask, modalities)
        rssi = self.scale(self.head(e["image"]), TARGET_RSSI)
        pl = self.analytic_pl(distance)
        return rssi, pl, -rssi - pl


_ARCHITECTURES: dict[str, type[RssiModel]] = {
    DECOMPOSED: DecomposedModel,
    BRUTE_FORCE: BruteForceModel,
    IMAGE_ONLY: ImageOnlyModel,
}


def build_model(config: ModelConfig, preprocess: PreprocessConfig | None = None) -> RssiModel:
    """Build a model of the given architecture (random initialisation unless `encoder_weights` says)."""
    return _ARCHITECTURES[config.architecture](config, preprocess or PreprocessConfig())
