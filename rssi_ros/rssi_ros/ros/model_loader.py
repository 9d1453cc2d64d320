"""Loading the model the node runs, and keeping the one a parameter call is about to install.

`checkpoint`, `backend` and `device` choose the model. A file that does not load is an error
text, never an exception: at configure the node then runs without a model, at a run-time change
it keeps the old one. Within one parameter call (`parameters.WholeCall`) a model loaded while
judging one parameter is staged, so the call's other model parameters and the final apply reuse
it instead of loading it again; a load that failed is staged too, so the call's other model
parameters are refused with the same error at once instead of failing again after seconds of
loading. No rclpy: the logger is anything with `info`.
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
    """Loads predictors from parameter values; stages one outcome per parameter call (`load_once`)."""

    def __init__(self, threads: int, logger: Any) -> None:
        self._threads = threads  # the read-only `threads` parameter
        self._logger = logger
        # (model key, predictor or None, error text) of the current parameter call.
        self._staged: tuple[tuple[Any, ...], Any, str] | None = None

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

    def load_once(self, values: dict[str, Any], stage: bool) -> tuple[Any, str]:
        """`load`, unless the outcome for the model parameters of `values` is staged; staged if `stage`."""
        key = model_key(values)
        if self._staged is not None and self._staged[0] == key:
            return self._staged[1], self._staged[2]
        predictor, error = self.load(values)
        if stage:
            self._staged = (key, predictor, error)
        return predictor, error

    def staged(self, values: dict[str, Any], default: Any) -> Any:
        """The staged predictor if it loaded for the model parameters of `values`, else `default`."""
        if self._staged is not None and self._staged[0] == model_key(values) and not self._staged[2]:
            return self._staged[1]
        return default

    def unstage(self) -> None:
        """The call ended: the next one loads afresh (the file may have changed meanwhile)."""
        self._staged = None
