"""Run a batch through torch or ONNX Runtime; both return (rssi, pl, sh) as float32 numpy arrays."""

from __future__ import annotations

import logging
import os
from typing import Protocol

import numpy as np
import torch

from rssi_ros.inference.dependencies import require_export_dependencies
from rssi_ros.model.batch import Batch, random_batch
from rssi_ros.model.networks import RssiModel

log = logging.getLogger(__name__)

TORCH, ONNXRUNTIME = "torch", "onnxruntime"
BACKENDS = (TORCH, ONNXRUNTIME)
Outputs = tuple[np.ndarray, np.ndarray, np.ndarray]


class Backend(Protocol):
    name: str

    def run(self, batch: Batch) -> Outputs: ...


class TorchBackend:
    """Torch (CPU or CUDA), inference mode.

    On the CPU the model is traced and frozen once at load (`torch.jit.freeze` folds BatchNorm
    into the convolutions and drops the Python module calls): at batch 1, the node's case, that
    is about 2.5x faster than eager MobileNetV3 on this project's 2-core reference machine and
    is what keeps the torch backend inside the node's 20 ms p99 budget. The frozen graph is
    checked against eager on random inputs; if tracing fails or the two disagree, eager is
    used and the log says why. `freeze=False` keeps eager (debugging, CUDA).
    """

    name = TORCH

    def __init__(self, model: RssiModel, device: str = "cpu", freeze: bool = True) -> None:
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError(f"device {device!r} requested but CUDA is not available")
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self._forward = self.model
        self.frozen = False
        if freeze and self.device.type == "cpu":
            frozen = _frozen_graph(self.model)
            if frozen is not None:
                self._forward, self.frozen = frozen, True

    def run(self, batch: Batch) -> Outputs:
        with torch.inference_mode():
            out = self._forward(*batch.to(self.device).as_tuple())
        return tuple(o.float().cpu().numpy() for o in out)  # type: ignore[return-value]


# Batch sizes of the freeze check: traced with one, checked with another, so a graph that baked
# the example's batch size in is caught.
FREEZE_TRACE_BATCH, FREEZE_CHECK_BATCH = 2, 3
# Largest |frozen - eager| accepted, dB (folding BatchNorm changes rounding, ~1e-5 dB).
FREEZE_TOLERANCE_DB = 1e-3


def _frozen_graph(model: RssiModel) -> torch.jit.ScriptModule | None:
    """The traced, frozen model, or None (logged) when it cannot stand in for eager."""
    import warnings

    pre = model.preprocess
    sizes = (pre.image_size, pre.max_objects, pre.box_features)
    example = random_batch(FREEZE_TRACE_BATCH, *sizes).as_tuple()
    check = random_batch(FREEZE_CHECK_BATCH, *sizes, seed=1).as_tuple()
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            # torch 2.x marks torch.jit as deprecated; it is still the one CPU path that folds
            # BatchNorm without a compiler tool chain or a start-up cost of many seconds.
            warnings.simplefilter("ignore")
            frozen = torch.jit.freeze(torch.jit.trace(model, example, check_trace=False))
            got, want = frozen(*check), model(*check)
        error = max(float((g - w).abs().max()) for g, w in zip(got, want, strict=True))
    except Exception as exc:  # any tracing failure means: run eager
        log.warning("torch backend: tracing failed (%s); running the model eagerly", exc)
        return None
    if not error <= FREEZE_TOLERANCE_DB:
        log.warning(
            "torch backend: frozen graph differs from eager by %.2g dB (> %.0g); running eagerly",
            error,
            FREEZE_TOLERANCE_DB,
        )
        return None
    log.debug("torch backend: frozen graph, max |frozen - eager| = %.2g dB", error)
    return frozen


class OnnxRuntimeBackend:
    """ONNX Runtime session; feeds only the inputs the graph declares."""

    name = ONNXRUNTIME

    def __init__(self, model_bytes: bytes, device: str = "cpu", threads: int | None = None) -> None:
        require_export_dependencies(("onnxruntime",), what="the onnxruntime backend")
        import onnxruntime as ort

        options = ort.SessionOptions()
        threads = threads if threads is not None else int(os.environ.get("RSSI_ROS_ORT_THREADS", "0"))
        if threads > 0:
            options.intra_op_num_threads = threads
        providers = ["CPUExecutionProvider"]
        if device.startswith("cuda"):
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise RuntimeError("device 'cuda' requested but onnxruntime has no CUDAExecutionProvider")
            providers.insert(0, "CUDAExecutionProvider")
        self.session = ort.InferenceSession(model_bytes, sess_options=options, providers=providers)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def run(self, batch: Batch) -> Outputs:
        feeds = batch.numpy()
        out = self.session.run(self.output_names, {n: feeds[n] for n in self.input_names})
        return tuple(np.asarray(o, dtype=np.float32) for o in out)  # type: ignore[return-value]
