"""Checkpoint format: the weights plus everything inference needs to reproduce the training-time input.

A checkpoint is a `torch.save`d dict of plain data and tensors only, so it loads with
`weights_only=True` (no arbitrary unpickling of files from elsewhere):

    format            "rssi_ros.checkpoint"        (FORMAT_TAG; anything else is refused)
    format_version    1                            (newer versions are refused with a clear message)
    model_name        e.g. "decomposed-learned-mlp"
    model_config      ModelConfig.to_dict()        (architecture, pl_mode, modalities, box encoder, ...)
    preprocess_config PreprocessConfig.to_dict()   (image size, box slots, class list, label definition)
    normaliser        MinMaxNormaliser.to_dict()   (position statistics of the training split)
    label             LabelDefinition.to_dict()    (path-loss exponent, minimum distance; a copy for readers)
    classes           the class list               (a copy for readers)
    box_encoder       "mlp" | "cnn"                (a copy for readers)
    state_dict        the model's weights and buffers (incl. target statistics)
    versions          rssi_ros, torch, timm, numpy, python
    metrics           validation/test metrics at save time
    provenance        data paths, sample counts, split protocol and seed, config, git state
    created_utc       ISO time
    training_state    optional: optimizer/scheduler/early-stopping state for `--resume`

Files are written to a temporary file in the same folder and renamed, so a crash (or kill -9)
never leaves a half-written checkpoint under the final name.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import platform
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rssi_ros import __version__
from rssi_ros.data.normalisation import MinMaxNormaliser
from rssi_ros.data.preprocess import PreprocessConfig
from rssi_ros.model.config import ModelConfig
from rssi_ros.model.networks import RssiModel, build_model

FORMAT_TAG = "rssi_ros.checkpoint"
FORMAT_VERSION = 1
REQUIRED_KEYS = ("model_config", "preprocess_config", "normaliser", "state_dict")
# A placeholder position normalisation for random checkpoints: +-200 m around the receiver.
RANDOM_CHECKPOINT_EXTENT_M = 200.0


class CheckpointError(RuntimeError):
    """A file that is not a usable rssi_ros checkpoint (missing, corrupt, foreign or incompatible)."""


def versions() -> dict[str, str]:
    import timm

    return {
        "rssi_ros": __version__,
        "torch": str(torch.__version__),
        "timm": str(timm.__version__),
        "numpy": str(np.__version__),
        "python": platform.python_version(),
    }


@dataclass
class Checkpoint:
    """An in-memory checkpoint; `build_model()` returns the ready-to-use network (eval mode)."""

    model_config: ModelConfig
    preprocess_config: PreprocessConfig
    normaliser: MinMaxNormaliser
    state_dict: dict[str, torch.Tensor]
    metrics: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=versions)
    created_utc: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    training_state: dict[str, Any] | None = None

    @property
    def model_name(self) -> str:
        return self.model_config.display_name

    @classmethod
    def from_model(
        cls,
        model: RssiModel,
        normaliser: MinMaxNormaliser,
        metrics: dict[str, Any] | None = None,
        provenance: dict[str, Any] | None = None,
        training_state: dict[str, Any] | None = None,
    ) -> Checkpoint:
        # DDP wraps the model; the checkpoint always holds the bare module's weights.
        bare = getattr(model, "module", model)
        state = {k: v.detach().cpu().clone() for k, v in bare.state_dict().items()}
        return cls(
            model_config=bare.config,
            preprocess_config=bare.preprocess,
            normaliser=normaliser,
            state_dict=state,
            metrics=dict(metrics or {}),
            provenance=dict(provenance or {}),
            training_state=training_state,
        )

    def metadata(self) -> dict[str, Any]:
        """Everything but the weights and the resume state (JSON-able; the ONNX export embeds it)."""
        return {
            "format": FORMAT_TAG,
            "format_version": FORMAT_VERSION,
            "model_name": self.model_name,
            "model_config": self.model_config.to_dict(),
            "preprocess_config": self.preprocess_config.to_dict(),
            "normaliser": self.normaliser.to_dict(),
            "label": self.preprocess_config.label.to_dict(),
            "classes": list(self.preprocess_config.classes.names),
            "box_encoder": self.model_config.box_encoder,
            "versions": dict(self.versions),
            "metrics": self.metrics,
            "provenance": self.provenance,
            "created_utc": self.created_utc,
        }

    def to_dict(self) -> dict[str, Any]:
        d = self.metadata()
        d["state_dict"] = self.state_dict
        d["training_state"] = self.training_state
        return d

    def build_model(self, device: str | torch.device = "cpu") -> RssiModel:
        """The network with these weights, in eval mode. Never fetches encoder weights again."""
        model = build_model(self.model_config.with_(encoder_weights=None), self.preprocess_config)
        try:
            model.load_state_dict(self.state_dict, strict=True)
        except RuntimeError as exc:
            detail = " ".join(str(exc).split())[:400]
            raise CheckpointError(
                f"the weights do not match the model config {self.model_name!r}: {detail}"
            ) from exc
        return model.to(device).eval()


def checkpoint_from_dict(d: Any, source: str = "<memory>") -> Checkpoint:
    """Validate a loaded dict and turn it into a `Checkpoint`; raises `CheckpointError`."""
    if not isinstance(d, dict):
        raise CheckpointError(f"{source} is not an rssi_ros checkpoint (it holds a {type(d).__name__})")
    tag = d.get("format")
    if tag != FORMAT_TAG:
        keys = sorted(str(k) for k in d)[:8]
        raise CheckpointError(
            f"{source} is not an rssi_ros checkpoint (format tag {tag!r}, expected {FORMAT_TAG!r}; "
            f"top-level keys {keys}). Train one with `python -m rssi_ros train`."
        )
    version = d.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise CheckpointError(f"{source}: invalid checkpoint format version {version!r}")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{source} was written by a newer rssi_ros (format version {version} > {FORMAT_VERSION} "
            f"supported by rssi_ros {__version__}); upgrade rssi_ros to load it"
        )
    missing = [k for k in REQUIRED_KEYS if k not in d]
    if missing:
        raise CheckpointError(f"{source}: checkpoint is missing {missing}")
    try:
        model_config = ModelConfig.from_dict(d["model_config"])
        preprocess_config = PreprocessConfig.from_dict(d["preprocess_config"])
        normaliser = MinMaxNormaliser.from_dict(d["normaliser"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{source}: invalid configuration in checkpoint: {exc}") from exc
    state = d["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{source}: state_dict must map names to tensors")
    return Checkpoint(
        model_config=model_config,
        preprocess_config=preprocess_config,
        normaliser=normaliser,
        state_dict=state,
        metrics=dict(d.get("metrics") or {}),
        provenance=dict(d.get("provenance") or {}),
        versions=dict(d.get("versions") or {}),
        created_utc=str(d.get("created_utc", "")),
        training_state=d.get("training_state"),
    )


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Load and validate a checkpoint; every failure is a `CheckpointError` naming the file and the cause."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.suffix == ".onnx":
        raise CheckpointError(f"{path} is an ONNX model, not a checkpoint; load it with Predictor.load")
    if not zipfile.is_zipfile(path):
        # torch.save writes a zip archive; anything else is a truncated copy or some other file.
        raise CheckpointError(
            f"{path} is not a readable torch checkpoint (not a complete zip archive: truncated, "
            "corrupt or another format)"
        )
    try:
        d = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path} holds Python objects other than tensors and plain data (not an rssi_ros checkpoint); "
            f"refusing to unpickle it ({_unpickling_reason(exc)})"
        ) from exc
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise CheckpointError(
            f"{path} is not a readable torch checkpoint (truncated, corrupt or another format): "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from exc
    return checkpoint_from_dict(d, str(path))


def _unpickling_reason(exc: Exception) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    detail = next((ln for ln in lines if "Unsupported" in ln or "global" in ln.lower()), None)
    return (detail or (lines[0] if lines else type(exc).__name__))[:300]


def save_checkpoint(checkpoint: Checkpoint, path: str | Path) -> Path:
    """Write atomically: a temporary file in the same folder, fsync, then rename over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(checkpoint.to_dict(), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def write_random_checkpoint(
    path: str | Path,
    model_config: ModelConfig | None = None,
    preprocess_config: PreprocessConfig | None = None,
    normaliser: MinMaxNormaliser | None = None,
    seed: int = 0,
) -> Path:
    """A valid checkpoint with random initial weights (for tests of the node, bags and tools).

    Deterministic for a given seed, and it leaves the caller's global RNG state untouched.
    """
    model_config = model_config or ModelConfig()
    preprocess_config = preprocess_config or PreprocessConfig()
    extent = RANDOM_CHECKPOINT_EXTENT_M
    normaliser = normaliser or MinMaxNormaliser((-extent, -extent), (extent, extent))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(model_config.with_(encoder_weights=None), preprocess_config)
    ckpt = Checkpoint.from_model(
        model, normaliser, metrics={}, provenance={"kind": "random initialisation", "seed": seed}
    )
    return save_checkpoint(ckpt, path)
