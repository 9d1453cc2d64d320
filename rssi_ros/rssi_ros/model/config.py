"""Model configuration: one dataclass that fully describes an architecture (saved in every checkpoint).

Everything needed to rebuild the network from a checkpoint lives here or in `PreprocessConfig`
(image size, box slots, class list, label definition); the weights alone are never enough.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

# Architectures.
DECOMPOSED = "decomposed"  # the paper: PL head + SH head, RSSI = -(PL + SH)
BRUTE_FORCE = "brute_force"  # same encoders, one head regressing RSSI directly
IMAGE_ONLY = "image_only"  # a baseline-size image regressor (resnet34 by default)
ARCHITECTURES = (DECOMPOSED, BRUTE_FORCE, IMAGE_ONLY)

# How the decomposed model gets its path loss.
PL_LEARNED = "learned"  # the paper: a head regresses PL from [image, position]
PL_ANALYTIC = "analytic"  # PL = 10 n log10(max(d, d_min)) from the GPS distance; only SH is learned
PL_MODES = (PL_LEARNED, PL_ANALYTIC)

# Modality names, in the order of `ModelInput.modalities`.
POSITION, IMAGE, BOXES = "position", "image", "boxes"
MODALITY_NAMES = (POSITION, IMAGE, BOXES)

BOX_ENCODERS = ("mlp", "cnn")
BOX_POOLS = ("max", "mean")

# The paper's parameter budget of the default model (Table I / abstract).
PAPER_PARAMETER_BUDGET = 2_510_000


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of one model. Defaults are the paper's Table I model.

    `modalities` are the inputs the model is built to use: a position-only model has no image or
    box encoder at all (and its heads are narrower), so it is small and fast to train on the real
    data, which has no images. A model built with all three still serves samples that lack a
    camera or boxes: the missing embedding is replaced by a learned "missing" vector.

    `encoder_weights`: None (random initialisation), "hub" (timm's pretrained weights; needs a
    network or a populated cache) or a path to a local state-dict file for the image backbone.
    """

    architecture: str = DECOMPOSED
    pl_mode: str = PL_LEARNED
    modalities: tuple[str, ...] = MODALITY_NAMES
    image_encoder: str = "mobilenetv3_small_050"
    image_embedding: int = 128
    position_embedding: int = 32
    box_encoder: str = "mlp"
    box_hidden: int = 128
    box_embedding: int = 64
    box_pool: str = "max"
    head_hidden: int = 64
    encoder_weights: str | None = None
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "modalities", tuple(self.modalities))
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}")
        if self.pl_mode not in PL_MODES:
            raise ValueError(f"pl_mode must be one of {PL_MODES}, got {self.pl_mode!r}")
        unknown = set(self.modalities) - set(MODALITY_NAMES)
        if unknown or not self.modalities:
            raise ValueError(
                f"modalities must be a non-empty subset of {MODALITY_NAMES}, got {self.modalities}"
            )
        if len(set(self.modalities)) != len(self.modalities):
            raise ValueError(f"modalities must not repeat: {self.modalities}")
        if self.architecture == IMAGE_ONLY and self.modalities != (IMAGE,):
            raise ValueError("the image_only architecture uses exactly the image modality")
        if self.architecture != IMAGE_ONLY and POSITION not in self.modalities:
            raise ValueError("decomposed and brute_force models need the position modality")
        if self.box_encoder not in BOX_ENCODERS:
            raise ValueError(f"box_encoder must be one of {BOX_ENCODERS}, got {self.box_encoder!r}")
        if self.box_pool not in BOX_POOLS:
            raise ValueError(f"box_pool must be one of {BOX_POOLS}, got {self.box_pool!r}")
        for f in ("image_embedding", "position_embedding", "box_hidden", "box_embedding", "head_hidden"):
            if int(getattr(self, f)) < 1:
                raise ValueError(f"{f} must be positive")
        # Keep the modality order canonical so two equal models compare equal.
        object.__setattr__(self, "modalities", tuple(m for m in MODALITY_NAMES if m in self.modalities))

    @property
    def uses_image(self) -> bool:
        return IMAGE in self.modalities

    @property
    def uses_boxes(self) -> bool:
        return BOXES in self.modalities

    @property
    def uses_position(self) -> bool:
        return POSITION in self.modalities

    @property
    def modality_bits(self) -> int:
        """Bit mask of the modalities this model can use (1 position, 2 image, 4 boxes)."""
        return sum(1 << i for i, m in enumerate(MODALITY_NAMES) if m in self.modalities)

    @property
    def learns_path_loss(self) -> bool:
        """True when a head regresses PL (otherwise PL is the closed form of the distance)."""
        return self.architecture == DECOMPOSED and self.pl_mode == PL_LEARNED

    @property
    def display_name(self) -> str:
        """A short name for tables, logs and `model_id`."""
        if self.name:
            return self.name
        if self.architecture == IMAGE_ONLY:
            return f"image-only-{self.image_encoder}"
        if self.modalities == (POSITION,):
            return "position-only" if self.architecture == DECOMPOSED else "brute-force-position-only"
        suffix = f"-{self.box_encoder}" if self.uses_boxes else ""
        if not self.uses_image:
            suffix += "-noimage"
        if self.architecture == BRUTE_FORCE:
            return f"brute-force{suffix}"
        return f"decomposed-{self.pl_mode}{suffix}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["modalities"] = list(self.modalities)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        d = dict(d)
        if "modalities" in d:
            d["modalities"] = tuple(d["modalities"])
        return cls(**d)

    def with_(self, **changes: Any) -> ModelConfig:
        return replace(self, **changes)


def presets() -> dict[str, ModelConfig]:
    """The models the paper's claims are tested with (bench, docs and configs refer to these names)."""
    base = ModelConfig()
    return {
        "decomposed-learned-mlp": base,
        "decomposed-learned-cnn": base.with_(box_encoder="cnn"),
        "decomposed-analytic-mlp": base.with_(pl_mode=PL_ANALYTIC),
        "brute-force-mlp": base.with_(architecture=BRUTE_FORCE),
        "position-only": base.with_(modalities=(POSITION,)),
        "image-only-resnet34": base.with_(
            architecture=IMAGE_ONLY, modalities=(IMAGE,), image_encoder="resnet34"
        ),
    }
