"""Export a checkpoint to ONNX with the metadata inference needs, and read that metadata back.

The graph takes only the inputs the model reads (a position-only model has no image input) with a
dynamic batch axis, and returns rssi_db, path_loss_db, shadow_fading_db. The checkpoint's metadata
(model and preprocessing config, normaliser, label definition, class list, versions, metrics,
provenance) is stored as JSON under the `rssi_ros` key of the model's `metadata_props`, so one
`.onnx` file is enough for `Predictor.load`; a sidecar `<name>.json` holds the same for people.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from rssi_ros import __version__
from rssi_ros.inference.dependencies import require_export_dependencies
from rssi_ros.model.batch import Batch, random_batch
from rssi_ros.model.checkpoint import Checkpoint, CheckpointError, checkpoint_from_dict
from rssi_ros.model.networks import INPUT_NAMES, OUTPUT_NAMES, RssiModel

METADATA_KEY = "rssi_ros"
ONNX_FORMAT_TAG = "rssi_ros.onnx"
DEFAULT_OPSET = 17
# Batch size of the example inputs used for tracing (any value > 1 keeps the batch axis symbolic).
TRACE_BATCH = 2


class _UsedInputs(nn.Module):
    """Forward only the inputs the model reads, so the graph's signature is exactly those."""

    def __init__(self, model: RssiModel) -> None:
        super().__init__()
        self.model = model
        self.names = model.used_inputs

    def forward(self, *tensors: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        given = dict(zip(self.names, tensors, strict=True))
        batch = given["modalities"].shape[0]
        placeholder = given["modalities"].new_zeros((batch,))
        args = [given.get(n, placeholder) for n in INPUT_NAMES]
        return self.model(*args)


def export_bytes(model: RssiModel, opset: int = DEFAULT_OPSET) -> bytes:
    """Trace the model to ONNX (no metadata); returns the serialised graph."""
    model = model.eval()
    pre = model.preprocess
    example: Batch = random_batch(TRACE_BATCH, pre.image_size, pre.max_objects, pre.box_features)
    wrapper = _UsedInputs(model).eval()
    names = list(wrapper.names)
    args = tuple(getattr(example, n) for n in names)
    dynamic = {n: {0: "batch"} for n in [*names, *OUTPUT_NAMES]}
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of torch.export (which needs onnxscript,
        # not a dependency here); it is still the one that handles timm backbones reliably.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(
            wrapper,
            args,
            buf,
            input_names=names,
            output_names=list(OUTPUT_NAMES),
            dynamic_axes=dynamic,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    return buf.getvalue()


def onnx_metadata(
    checkpoint: Checkpoint, source_sha256: str | None, input_names: list[str]
) -> dict[str, Any]:
    meta = checkpoint.metadata()
    meta["onnx"] = {
        "format": ONNX_FORMAT_TAG,
        "inputs": input_names,
        "outputs": list(OUTPUT_NAMES),
        "source_checkpoint_sha256": source_sha256,
        "exported_by": f"rssi_ros {__version__}",
    }
    return meta


def export_checkpoint(
    checkpoint: Checkpoint, source_sha256: str | None = None, opset: int = DEFAULT_OPSET
) -> tuple[bytes, dict[str, Any]]:
    """The ONNX bytes with embedded metadata, and that metadata (write them with `write_export`)."""
    require_export_dependencies(("onnx",))
    import onnx

    model = checkpoint.build_model("cpu")
    proto = onnx.load_from_string(export_bytes(model, opset))
    meta = onnx_metadata(checkpoint, source_sha256, [i.name for i in proto.graph.input])
    _set_metadata(proto, meta)
    proto.producer_name = "rssi_ros"
    proto.producer_version = __version__
    proto.doc_string = f"rssi_ros {checkpoint.model_name}: RSSI = -(PL + SH) in dB"
    onnx.checker.check_model(proto)
    return proto.SerializeToString(), meta


def with_metadata(data: bytes, meta: dict[str, Any]) -> bytes:
    """The same graph with its embedded `rssi_ros` metadata replaced by `meta`.

    The export adds the parity report after checking it; only `metadata_props` change, so the
    checked computation is the written one.
    """
    import onnx

    proto = onnx.load_from_string(data)
    _set_metadata(proto, meta)
    return proto.SerializeToString()


def _set_metadata(proto: Any, meta: dict[str, Any]) -> None:
    """Put `meta` under the `rssi_ros` key of the model's metadata_props (replacing an earlier one)."""
    kept = [p for p in proto.metadata_props if p.key != METADATA_KEY]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(meta, default=str)


def write_export(out: str | Path, data: bytes, meta: dict[str, Any]) -> Path:
    """Write the model and its sidecar `<out>.json` atomically."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(out, data)
    _atomic_write(sidecar_path(out), json.dumps(meta, indent=2, default=str).encode())
    return out


def sidecar_path(onnx_path: Path) -> Path:
    return onnx_path.with_suffix(onnx_path.suffix + ".json")


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def read_onnx_metadata(data: bytes, source: str = "<memory>") -> tuple[Checkpoint, dict[str, Any]]:
    """The embedded metadata as a weightless `Checkpoint` (configs, normaliser) plus the raw dict."""
    require_export_dependencies(("onnx",), what="reading an ONNX model")
    import onnx

    try:
        proto = onnx.load_from_string(data)
    except Exception as exc:  # onnx raises DecodeError/ValueError and friends for non-ONNX bytes
        raise CheckpointError(f"{source} is not a readable ONNX model: {exc}") from exc
    props = {p.key: p.value for p in proto.metadata_props}
    if METADATA_KEY not in props:
        raise CheckpointError(
            f"{source} is an ONNX model without rssi_ros metadata; export it with `python -m rssi_ros export`"
        )
    try:
        meta = json.loads(props[METADATA_KEY])
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{source}: rssi_ros metadata is not valid JSON: {exc}") from exc
    ckpt = checkpoint_from_dict({**meta, "state_dict": {}}, source)
    return ckpt, meta
