"""Encoders of the three modalities: image (timm backbone), position (MLP) and boxes (MLP or CNN).

Each encoder maps its input to a fixed-width embedding; `ModalityGate` swaps in a learned
"missing" vector for samples that lack the modality, so one model serves a missing camera or
missing detections without a second network and without control flow (ONNX stays one graph).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import Tensor, nn

log = logging.getLogger(__name__)

# ImageNet statistics (RGB, on the 0..255 scale): timm backbones are trained with these.
IMAGENET_MEAN_255 = (0.485 * 255.0, 0.456 * 255.0, 0.406 * 255.0)
IMAGENET_STD_255 = (0.229 * 255.0, 0.224 * 255.0, 0.225 * 255.0)
# Weights of the backbone's own classifier are dropped when loading a local file.
CLASSIFIER_PREFIXES = ("classifier.", "fc.", "head.", "head.fc.")


class ImageEncoder(nn.Module):
    """timm backbone (global-pooled features) + a linear projection to the embedding, ReLU.

    Takes the image as float NCHW on the 0..255 scale (a cast of the uint8 RGB) and normalises
    it inside the graph, so torch and ONNX consumers feed the same tensor and nobody forgets
    the ImageNet statistics.
    """

    def __init__(self, backbone: str, embedding: int, weights: str | None = None) -> None:
        super().__init__()
        import timm  # deferred: importing timm costs about a second

        pretrained = weights == "hub"
        self.backbone = timm.create_model(backbone, pretrained=pretrained, num_classes=0)
        if weights not in (None, "", "hub"):
            load_backbone_weights(self.backbone, Path(weights))
        # timm's pooled output is `head_hidden_size` wide when the backbone has a conv head
        # (MobileNetV3: 1024), else `num_features` (ResNet: 512).
        width = getattr(self.backbone, "head_hidden_size", None) or self.backbone.num_features
        self.projection = nn.Sequential(nn.Linear(width, embedding), nn.ReLU())
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN_255).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD_255).view(1, 3, 1, 1), persistent=False)
        self._features_input = False

    def backbone_features(self, image: Tensor) -> Tensor:
        """Pooled backbone output of an image batch (float NCHW, 0..255)."""
        return self.backbone((image - self.mean) / self.std)

    @contextmanager
    def precomputed_features(self) -> Iterator[None]:
        """Within this block `forward` takes `backbone_features` output instead of images.

        The trainer uses it while the backbone is frozen: the features are then a fixed function
        of the image, computed once per stage rather than once per epoch.
        """
        self._features_input = True
        try:
            yield
        finally:
            self._features_input = False

    def forward(self, image: Tensor) -> Tensor:
        features = image if self._features_input else self.backbone_features(image)
        return self.projection(features)


def load_backbone_weights(backbone: nn.Module, path: Path) -> None:
    """Load a local state dict (timm/torchvision style) into the backbone; the classifier is skipped."""
    if not path.is_file():
        raise FileNotFoundError(f"encoder weights file not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    state = {k.removeprefix("module."): v for k, v in state.items() if not k.startswith(CLASSIFIER_PREFIXES)}
    own = backbone.state_dict()
    matched = {k for k, v in state.items() if k in own and tuple(own[k].shape) == tuple(v.shape)}
    if not matched:
        raise ValueError(f"no tensor of {path} matches the backbone: is it the right architecture?")
    result = backbone.load_state_dict({k: state[k] for k in matched}, strict=False)
    if result.missing_keys:
        log.warning("encoder weights %s: %d backbone tensors missing", path, len(result.missing_keys))
    if len(state) > len(matched):
        log.warning(
            "encoder weights %s: %d tensors unused (name or shape differs)", path, len(state) - len(matched)
        )
    log.info("loaded %d backbone tensors from %s", len(matched), path)


class PositionEncoder(nn.Module):
    """Normalised [east, north] -> embedding (Linear + ReLU; Table I: 2 -> 32)."""

    def __init__(self, embedding: int, in_features: int = 2) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_features, embedding), nn.ReLU())

    def forward(self, position: Tensor) -> Tensor:
        return self.net(position)


class BoxEncoderMLP(nn.Module):
    """Flattened box slots -> hidden -> embedding (Table I: K*F -> 128 -> 64).

    Slot order carries meaning (slot 0 is the transmitter, the rest by decreasing area), which
    the MLP can exploit; empty slots are zeroed with the mask so padding never leaks values.
    """

    def __init__(self, max_objects: int, features: int, hidden: int, embedding: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(max_objects * features, hidden),
            nn.ReLU(),
            nn.Linear(hidden, embedding),
            nn.ReLU(),
        )

    def forward(self, boxes: Tensor, box_mask: Tensor) -> Tensor:
        return self.net(boxes * box_mask.unsqueeze(-1))


class BoxEncoderCNN(nn.Module):
    """Per-object Conv1d (k=1) -> hidden, pooled over the objects present -> embedding.

    Permutation invariant over the distractor slots; the transmitter flag feature still lets it
    tell the transmitter apart. Max pooling after ReLU with the mask multiplied in is 0 when no
    object is present (no division, no -inf), which exports cleanly to ONNX.
    """

    def __init__(self, features: int, hidden: int, embedding: int, pool: str = "max") -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.Conv1d(features, hidden, kernel_size=1), nn.ReLU())
        self.out = nn.Sequential(nn.Linear(hidden, embedding), nn.ReLU())
        self.pool = pool

    def forward(self, boxes: Tensor, box_mask: Tensor) -> Tensor:
        per_object = self.conv(boxes.transpose(1, 2)) * box_mask.unsqueeze(1)  # (B, hidden, K)
        if self.pool == "max":
            pooled = per_object.amax(dim=2)
        else:
            pooled = per_object.sum(dim=2) / box_mask.sum(dim=1, keepdim=True).clamp(min=1.0)
        return self.out(pooled)


class ModalityGate(nn.Module):
    """embedding where the modality is present, a learned "missing" vector where it is not."""

    def __init__(self, embedding: int) -> None:
        super().__init__()
        self.missing = nn.Parameter(torch.zeros(embedding))

    def forward(self, embedding: Tensor, present: Tensor) -> Tensor:
        p = present.unsqueeze(-1)
        return p * embedding + (1.0 - p) * self.missing
