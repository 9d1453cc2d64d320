"""Run a batch through torch or ONNX Runtime; both return (rssi, pl, sh) as float32 numpy arrays."""

from __future__ import annotations

import logging
import os
from typing import Protocol

import numpy as np
import torch

from rssi_ros.model.batch import Batch
from rssi_ros.model.networks import RssiModel

log = logging.getLogger(__name__)

TORCH, ONNXRUNTIME = "torch", "onnxruntime"
BACKENDS = (TORCH, ONNXRUNTIME)
Outputs = tuple[np.ndarray, np.ndarray, np.ndarray]


class Backend(Protocol):
    name: str

    def run(self, batch: Batch) -> Outputs: ...


class TorchBackend:
    """Eager torch (CPU or CUDA), inference mode."""

    name = TORCH

    def __init__(self, model: RssiModel, device: str = "cpu") -> None:
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError(f"device {device!r} requested but CUDA is not available")
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()

    def run(self, batch: Batch) -> Outputs:
        with torch.inference_mode():
            out = self.model(*batch.to(self.device).as_tuple())
        return tuple(o.float().cpu().numpy() for o in out)  # type: ignore[return-value]


class OnnxRuntimeBackend:
    """ONNX Runtime session; feeds only the inputs the graph declares."""

    name = ONNXRUNTIME

    def __init__(self, model_bytes: bytes, device: str = "cpu", threads: int | None = None) -> None:
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
