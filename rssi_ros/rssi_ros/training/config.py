"""Training configuration: dataclasses with the paper's defaults, loaded from YAML, overridden by `key=value`.

Every key is checked: a typo (`stage1.epoch=5`) is an error naming the key, never a silently
ignored setting. The resolved configuration is written next to the run and into every checkpoint.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rssi_ros.data.classes import DEFAULT_CLASS_NAMES, ClassVocabulary
from rssi_ros.data.preprocess import PreprocessConfig
from rssi_ros.model.config import DECOMPOSED, ModelConfig
from rssi_ros.physics.labels import LabelDefinition
from rssi_ros.settings import apply_overrides

SCHEDULES = ("cosine", "step", "constant")
# What early stopping and the choice of best.pt watch on the validation split.
MONITORS = ("rssi_rmse", "loss")
PROTOCOLS = ("frame", "drive")
GPS_COLUMNS = ("unit2_loc", "unit2_loc_cal")
# The configured stages, in training order; files and logs number them 1 and 2 by this tuple.
STAGE_NAMES = ("stage1", "stage2")
# What `device` may be: the CPU, the current CUDA device, or CUDA device N.
DEVICE_PATTERN = re.compile(r"cpu|cuda(:\d+)?")
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)  # train, val, test


@dataclass
class StageConfig:
    """One training stage (Table II of the paper).

    The learning rate follows `schedule` per epoch: "cosine" anneals from `lr` to
    `lr * min_lr_ratio` over the stage's epochs, "step" multiplies by `gamma` every `step_epochs`,
    "constant" keeps `lr`. Early stopping ends the stage after `patience` epochs without an
    improvement of the validation RSSI RMSE by more than `min_delta_db` (0 disables it).
    """

    enabled: bool = True
    epochs: int = 100
    batch_size: int = 128
    lr: float = 5e-3
    weight_decay: float = 0.01
    freeze_encoder: bool = True
    # With a frozen encoder its pooled features are a fixed function of the image: compute them
    # once per stage instead of once per epoch (identical results, ~100x less work on a CPU).
    precompute_features: bool = True
    schedule: str = "cosine"
    min_lr_ratio: float = 0.01
    step_epochs: int = 30
    gamma: float = 0.1
    patience: int = 10
    min_delta_db: float = 0.0

    def __post_init__(self) -> None:
        if self.epochs < 0 or self.batch_size < 1:
            raise ValueError("stage epochs must be >= 0 and batch_size >= 1")
        if self.lr <= 0 or self.weight_decay < 0:
            raise ValueError("stage lr must be positive and weight_decay non-negative")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"stage schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.patience < 0 or self.step_epochs < 1 or not 0 < self.min_lr_ratio <= 1:
            raise ValueError("stage patience >= 0, step_epochs >= 1, 0 < min_lr_ratio <= 1")
        if not self.gamma > 0:
            raise ValueError(f"gamma must be > 0 (the step schedule multiplies lr by it), got {self.gamma}")
        if not self.min_delta_db >= 0:
            raise ValueError(f"min_delta_db must be >= 0, got {self.min_delta_db}")


def _stage2() -> StageConfig:
    return StageConfig(batch_size=4, lr=5e-4, freeze_encoder=False, precompute_features=False)


@dataclass
class PreprocessSection:
    """What shapes the model input (becomes `PreprocessConfig`, saved in the checkpoint)."""

    image_size: int = 224
    max_objects: int = 10
    classes: list[str] = field(default_factory=lambda: list(DEFAULT_CLASS_NAMES))
    path_loss_exponent: float = 2.0
    min_distance_m: float = 1.0
    interference_removed: bool = False

    def build(self) -> PreprocessConfig:
        return PreprocessConfig(
            image_size=self.image_size,
            max_objects=self.max_objects,
            classes=ClassVocabulary.of(self.classes),
            label=LabelDefinition(self.path_loss_exponent, self.min_distance_m),
            interference_removed=self.interference_removed,
        )


@dataclass
class DataSection:
    """Which data, which split; the split is saved as `split.json` in the run folder."""

    paths: list[str] = field(default_factory=list)
    protocol: str = "frame"
    split_seed: int = 0
    fractions: list[float] = field(default_factory=lambda: list(DEFAULT_FRACTIONS))
    gps_column: str = "unit2_loc"
    limit_samples: int | None = None
    cache_root: str = ""  # "" = $RSSI_ROS_CACHE, else .cache/rssi_ros/images (data.cache.default_root)
    workers: int = 0

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"data.protocol must be one of {PROTOCOLS}, got {self.protocol!r}")
        if self.gps_column not in GPS_COLUMNS:
            raise ValueError(f"data.gps_column must be one of {GPS_COLUMNS}, got {self.gps_column!r}")
        if self.limit_samples is not None and self.limit_samples < 1:
            raise ValueError("data.limit_samples must be positive")
        if self.workers < 0:
            raise ValueError(f"workers must be >= 0 (0 = load in the main process), got {self.workers}")


@dataclass
class LossSection:
    """loss = lambda_pl * MSE(PL) + lambda_sh * MSE(SH) (dB^2); models without a PL head use MSE(RSSI)."""

    lambda_pl: float = 0.5
    lambda_sh: float = 0.5

    def __post_init__(self) -> None:
        for key in ("lambda_pl", "lambda_sh"):
            if not getattr(self, key) >= 0:
                raise ValueError(f"{key} must be >= 0, got {getattr(self, key)}")
        if self.lambda_pl == 0 and self.lambda_sh == 0:
            raise ValueError("lambda_pl and lambda_sh are both 0: nothing would train")


@dataclass
class ModalityDropout:
    """Probability of hiding a modality from a training sample, so the model learns to serve without it."""

    image: float = 0.0
    boxes: float = 0.0

    def __post_init__(self) -> None:
        if not (0 <= self.image <= 1 and 0 <= self.boxes <= 1):
            raise ValueError("modality_dropout probabilities must lie in [0, 1]")


@dataclass
class TrainConfig:
    """A whole training run."""

    seed: int = 0
    device: str = "cpu"
    threads: int = 0  # torch intra-op threads; 0 keeps torch's default
    max_epochs: int | None = None  # caps every stage (quick trials)
    deterministic: bool = False  # torch.use_deterministic_algorithms (for CUDA; CPU runs are deterministic)
    # Early stopping and best.pt watch the validation RSSI RMSE (dB, the paper's figure) or the
    # validation loss (the training objective, dB^2: also rewards a better PL/SH split).
    monitor: str = "rssi_rmse"
    model: ModelConfig = field(default_factory=ModelConfig)
    preprocess: PreprocessSection = field(default_factory=PreprocessSection)
    data: DataSection = field(default_factory=DataSection)
    loss: LossSection = field(default_factory=LossSection)
    stage1: StageConfig = field(default_factory=StageConfig)
    stage2: StageConfig = field(default_factory=_stage2)
    modality_dropout: ModalityDropout = field(default_factory=ModalityDropout)
    eval_batch_size: int = 256
    progress: bool = True
    tensorboard: bool = True

    def __post_init__(self) -> None:
        if self.monitor not in MONITORS:
            raise ValueError(f"monitor must be one of {MONITORS}, got {self.monitor!r}")
        if self.max_epochs is not None and self.max_epochs < 1:
            raise ValueError(f"max_epochs must be null or >= 1, got {self.max_epochs}")
        if not DEVICE_PATTERN.fullmatch(self.device):
            raise ValueError(f"device must be cpu, cuda or cuda:N, got {self.device!r}")
        if self.eval_batch_size < 1:
            raise ValueError(f"eval_batch_size must be >= 1, got {self.eval_batch_size}")
        if not any(stage.epochs > 0 for _, stage in self.stages()):
            raise ValueError("stage1/stage2: no enabled stage has epochs > 0 (nothing would train)")
        self._check_loss_weights()

    def _check_loss_weights(self) -> None:
        """The decomposed model trains SH (and a learned PL head) only through its own lambda."""
        if self.model.architecture != DECOMPOSED:
            return  # brute force / image only regress RSSI: the lambdas are not used
        if self.loss.lambda_sh <= 0:
            raise ValueError("loss.lambda_sh must be > 0: the decomposed model's SH head trains only on it")
        if self.model.learns_path_loss and self.loss.lambda_pl <= 0:
            raise ValueError(
                "loss.lambda_pl must be > 0 with model.pl_mode=learned (the PL head trains only on it)"
            )

    def stages(self) -> list[tuple[str, StageConfig]]:
        """The enabled stages, in order, with `max_epochs` applied."""
        out = []
        for name in STAGE_NAMES:
            stage = getattr(self, name)
            if not stage.enabled:
                continue
            capped = stage
            if self.max_epochs is not None:
                capped = dataclasses.replace(stage, epochs=min(stage.epochs, self.max_epochs))
            out.append((name, capped))
        return out

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["model"] = self.model.to_dict()
        return d


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_config_class(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def build(cls: type, values: Mapping[str, Any], where: str = "") -> Any:
    """Build dataclass `cls` from a mapping, recursing into nested config dataclasses; unknown keys fail."""
    if not isinstance(values, Mapping):
        raise ValueError(f"{where or 'config'} must be a mapping, got {type(values).__name__}")
    types = _field_types(cls)
    unknown = sorted(set(values) - set(types))
    if unknown:
        prefix = f"{where}." if where else ""
        raise ValueError(f"unknown config key(s): {', '.join(prefix + k for k in unknown)}")
    kwargs = {}
    for name, value in values.items():
        tp = types[name]
        path = f"{where}.{name}" if where else name
        if cls is TrainConfig and name == "model":
            kwargs[name] = ModelConfig.from_dict(dict(value or {}))
        elif _is_config_class(tp):
            # A partial section keeps this field's own defaults for the keys it does not set
            # (stage2's defaults differ from stage1's although both are StageConfig).
            base = dataclasses.asdict(_default_of(cls, name))
            kwargs[name] = build(tp, {**base, **dict(value or {})}, path)
        else:
            kwargs[name] = _coerce(value, tp, path)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        message = str(exc)
        if where and message.split(" ", 1)[0] in types:
            # A section's own check names its field ("gamma must be > 0"): name the full key.
            raise ValueError(f"{where}.{message}") from exc
        raise ValueError(f"invalid {where or 'config'}: {message}") from exc


def _default_of(cls: type, name: str) -> Any:
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def _coerce(value: Any, tp: Any, path: str) -> Any:
    """Light type checking of scalar fields (YAML gives int for 5 where a float is meant)."""
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):
        # YAML 1.1 reads "1e-3" (no dot) as a string.
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"{path} must be a number, got {value!r}") from None
    if tp is float and not isinstance(value, float):
        raise ValueError(f"{path} must be a number, got {value!r}")
    if tp is bool and not isinstance(value, bool):
        raise ValueError(f"{path} must be true or false, got {value!r}")
    if tp is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{path} must be an integer, got {value!r}")
    return value


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the top level of a training config must be a mapping")
    return data


def load_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> TrainConfig:
    """The dataclass defaults, then the YAML file (when given), then the overrides."""
    values = load_yaml(path) if path is not None else {}
    return build(TrainConfig, apply_overrides(values, overrides))


def config_from_dict(values: Mapping[str, Any]) -> TrainConfig:
    return build(TrainConfig, values)
