"""Loading the model the node runs, and keeping the one a parameter call is about to install.

`checkpoint`, `backend` and `device` choose the model. A file that does not load is an error
text, never an exception: at configure the node then runs without a model, at a run-time change
it keeps the old one. Within one parameter call (`parameters.WholeCall`) a model loaded while
judging one parameter is staged, so the call's other model parameters and the final apply reuse
it instead of loading it again. No rclpy: the logger is anything with `info`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

MODEL_PARAMETERS = ("checkpoint", "backend", "device")
ORT_THREADS_ENV = "RSSI_ROS_ORT_THREADS"


def model_key(values: dict[str, Any]) -> tuple[Any, ...]:
    """What identifies a loaded model among parameter values."""
    return tuple(values[k] for k in MODEL_PARAMETERS)


def apply_threads(n: int) -> None:
    """Intra-op threads of torch and onnxruntime (process-wide; 0 keeps the libraries' defaults)."""
    if n <= 0:
        return
    import torch

    torch.set_num_threads(n)
    os.environ[ORT_THREADS_ENV] = str(n)  # read by inference.backends.OnnxRuntimeBackend


class ModelLoader:
    """Loads predictors from parameter values; stages one per parameter call (`stage`, `staged`)."""

    def __init__(self, threads: int, logger: Any) -> None:
        self._threads = threads  # the read-only `threads` parameter
        self._logger = logger
        self._staged: tuple[tuple[Any, ...], Any] | None = None

    def load(self, values: dict[str, Any]) -> tuple[Any, str]:
        """(predictor or None, error text). An empty checkpoint is no model, not an error."""
        path = str(values["checkpoint"])
        if not path:
            return None, ""
        from rssi_ros.inference.predictor import Predictor
        from rssi_ros.model.checkpoint import CheckpointError

        apply_threads(self._threads)
        started = time.monotonic()
        try:
            predictor = Predictor.load(
                Path(path).expanduser(), backend=values["backend"], device=values["device"]
            )
            predictor.warmup()
        except CheckpointError as exc:
            return None, f"cannot load model {path!r}: {exc}"
        except Exception as exc:  # torch/onnxruntime raise many types for foreign files; never crash
            return None, f"cannot load model {path!r}: {type(exc).__name__}: {exc}"
        self._logger.info(
            f"model {predictor.model_id} ({predictor.backend}) loaded from {path} "
            f"in {time.monotonic() - started:.2f} s; modalities {', '.join(predictor.supported_modalities)}"
        )
        return predictor, ""

    def staged(self, values: dict[str, Any], default: Any) -> Any:
        """The staged predictor if it was loaded for the model parameters of `values`, else `default`."""
        if self._staged is not None and self._staged[0] == model_key(values):
            return self._staged[1]
        return default

    def stage(self, values: dict[str, Any], predictor: Any) -> None:
        """Keep `predictor` (None: no model) as the model of `values` until `unstage`."""
        self._staged = (model_key(values), predictor)

    def unstage(self) -> None:
        self._staged = None
