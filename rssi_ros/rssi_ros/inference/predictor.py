"""`Predictor`: a trained model (checkpoint or exported ONNX) that turns `Sample`s into `Estimate`s.

    predictor = Predictor.load("runs/x/checkpoints/best.pt")          # torch
    predictor = Predictor.load("model.onnx")                           # ONNX Runtime
    estimate = predictor.predict(sample)

Every path goes through `rssi_ros.data.preprocess.preprocess` with the preprocessing config and
normaliser stored next to the weights, so the node computes exactly what the evaluator measured.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rssi_ros.data.normalisation import MinMaxNormaliser
from rssi_ros.data.preprocess import ModelInput, PreprocessConfig, preprocess
from rssi_ros.data.sample import Sample
from rssi_ros.inference.backends import (
    BACKENDS,
    ONNXRUNTIME,
    TORCH,
    Backend,
    OnnxRuntimeBackend,
    TorchBackend,
)
from rssi_ros.inference.estimate import Estimate
from rssi_ros.model.batch import collate, random_batch
from rssi_ros.model.checkpoint import CheckpointError, load_checkpoint
from rssi_ros.model.config import MODALITY_NAMES, ModelConfig
from rssi_ros.physics.labels import LabelDefinition

log = logging.getLogger(__name__)

AUTO = "auto"
ONNX_SUFFIX = ".onnx"
# Samples per forward pass in predict_batch / predict_inputs (bounded memory with 224x224 images).
DEFAULT_BATCH_SIZE = 64
SHORT_HASH = 8


def model_id_of(name: str, data: bytes | None = None, sha256: str | None = None) -> str:
    """`<model name>@<first 8 hex digits of the file's sha256>`: names the exact weights in use."""
    digest = sha256 or hashlib.sha256(data or b"").hexdigest()
    return f"{name}@{digest[:SHORT_HASH]}"


class Predictor:
    """Loaded model + its preprocessing; see the module docstring. Not thread-safe for concurrent
    `predict` calls on one instance with the torch backend on CUDA (serialise calls in the node)."""

    def __init__(
        self,
        backend: Backend,
        model_config: ModelConfig,
        preprocess_config: PreprocessConfig,
        normaliser: MinMaxNormaliser,
        model_id: str,
        metadata: dict[str, Any] | None = None,
        path: Path | None = None,
    ) -> None:
        self._backend = backend
        self.model_config = model_config
        self.preprocess_config = preprocess_config
        self.normaliser = normaliser
        self.model_id = model_id
        self.metadata = metadata or {}
        self.path = path

    # --- loading -----------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path, backend: str = AUTO, device: str = "cpu") -> Predictor:
        """Load a `.pt` checkpoint or an exported `.onnx` model.

        backend: "auto" (torch for a checkpoint, onnxruntime for ONNX), "torch" (checkpoints only)
        or "onnxruntime" (an ONNX file, or a checkpoint exported in memory on the fly).
        Raises `CheckpointError` for missing, corrupt or foreign files and `ValueError` for a
        backend that cannot run the given file.
        """
        if backend not in (AUTO, *BACKENDS):
            raise ValueError(f"backend must be one of {(AUTO, *BACKENDS)}, got {backend!r}")
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"model file not found: {path}")
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        if path.suffix == ONNX_SUFFIX:
            if backend == TORCH:
                raise ValueError(
                    f"{path} is an ONNX model and has no torch weights; load the .pt checkpoint for "
                    "backend='torch' or use backend='onnxruntime'"
                )
            return cls._from_onnx(data, sha, device, path)
        ckpt = load_checkpoint(path)
        model_id = model_id_of(ckpt.model_name, sha256=sha)
        meta = ckpt.metadata()
        if backend == ONNXRUNTIME:
            from rssi_ros.inference.dependencies import require_export_dependencies
            from rssi_ros.inference.onnx_export import export_checkpoint

            require_export_dependencies(what="the onnxruntime backend (a checkpoint is exported in memory)")

            runner: Backend = OnnxRuntimeBackend(export_checkpoint(ckpt, source_sha256=sha)[0], device)
        else:
            runner = TorchBackend(ckpt.build_model(device), device)
        log.info("loaded %s (%s backend) from %s", model_id, runner.name, path)
        return cls(runner, ckpt.model_config, ckpt.preprocess_config, ckpt.normaliser, model_id, meta, path)

    @classmethod
    def _from_onnx(cls, data: bytes, sha: str, device: str, path: Path) -> Predictor:
        from rssi_ros.inference.onnx_export import read_onnx_metadata

        ckpt, meta = read_onnx_metadata(data, str(path))
        model_id = model_id_of(ckpt.model_name, sha256=sha)
        runner = OnnxRuntimeBackend(data, device)
        log.info("loaded %s (onnxruntime backend) from %s", model_id, path)
        return cls(runner, ckpt.model_config, ckpt.preprocess_config, ckpt.normaliser, model_id, meta, path)

    # --- properties the node and tools read ---------------------------------------------------
    @property
    def backend(self) -> str:
        return self._backend.name

    @property
    def label(self) -> LabelDefinition:
        return self.preprocess_config.label

    @property
    def supported_modalities(self) -> tuple[str, ...]:
        """Names of the modalities the model can use ("position", "image", "boxes")."""
        return tuple(m for m in MODALITY_NAMES if m in self.model_config.modalities)

    @property
    def supported_modality_bits(self) -> int:
        return self.model_config.modality_bits

    @property
    def model_name(self) -> str:
        return self.model_config.display_name

    # --- prediction ---------------------------------------------------------------------------
    def preprocess(self, sample: Sample, image: np.ndarray | None = None) -> ModelInput:
        """The one preprocessing path, with this model's config and normaliser."""
        return preprocess(sample, self.preprocess_config, self.normaliser, image=image)

    def predict(self, sample: Sample) -> Estimate:
        return self.predict_inputs([self.preprocess(sample)])[0]

    def predict_batch(
        self, samples: Sequence[Sample], batch_size: int = DEFAULT_BATCH_SIZE
    ) -> list[Estimate]:
        out: list[Estimate] = []
        for start in range(0, len(samples), batch_size):
            chunk = samples[start : start + batch_size]
            out += self.predict_inputs([self.preprocess(s) for s in chunk], batch_size)
        return out

    def predict_inputs(
        self, inputs: Sequence[ModelInput], batch_size: int = DEFAULT_BATCH_SIZE
    ) -> list[Estimate]:
        out: list[Estimate] = []
        for start in range(0, len(inputs), batch_size):
            chunk = inputs[start : start + batch_size]
            rssi, pl, sh = self.run_arrays(chunk)
            out += [
                self._estimate(m, float(r), float(p), float(s))
                for m, r, p, s in zip(chunk, rssi, pl, sh, strict=True)
            ]
        return out

    def run_arrays(self, inputs: Sequence[ModelInput]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw (rssi, pl, sh) arrays of one batch (evaluation uses these directly)."""
        if not inputs:
            empty = np.zeros(0, np.float32)
            return empty, empty, empty
        return self._backend.run(collate(inputs, with_image=self.model_config.uses_image))

    def warmup(self, batch_size: int = 1) -> None:
        """One forward pass on random inputs so the first real frame does not pay for lazy set-up."""
        pre = self.preprocess_config
        self._backend.run(random_batch(batch_size, pre.image_size, pre.max_objects, pre.box_features))

    def _estimate(self, m: ModelInput, rssi: float, pl: float, sh: float) -> Estimate:
        return Estimate(
            rssi_db=rssi,
            path_loss_db=pl,
            shadow_fading_db=sh,
            path_loss_exponent=float(self.label.path_loss_exponent),
            distance_m=float(m.distance_m),
            east_m=float(m.east_m),
            north_m=float(m.north_m),
            tx_in_view=bool(m.tx_in_view),
            num_boxes=int(m.num_boxes),
            modalities=m.modality_bits & self.supported_modality_bits,
            model_id=self.model_id,
            backend=self.backend,
        )
