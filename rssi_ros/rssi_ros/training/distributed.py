"""Multi-process data-parallel training under `torchrun` (gloo on CPU, nccl on CUDA).

`torchrun --nproc_per_node N -m rssi_ros train ...` sets RANK/WORLD_SIZE/LOCAL_RANK; without
them the run is a single process and none of this initialises anything.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def mean(self, value: float, weight: float = 1.0) -> float:
        """Weighted mean of a per-rank value over all ranks."""
        if not self.enabled:
            return value
        t = torch.tensor([value * weight, weight], dtype=torch.float64)
        dist.all_reduce(t)
        return float(t[0] / t[1]) if t[1] > 0 else float("nan")

    def gather_strings(self, value: str) -> list[str]:
        if not self.enabled:
            return [value]
        out: list[str] = [""] * self.world_size
        dist.all_gather_object(out, value)
        return out


def setup(device: str) -> DistContext:
    """Initialise the process group when launched by torchrun; pick this rank's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError("--device cuda requested but CUDA is not available")
        device = f"cuda:{local}" if world > 1 or device == "cuda" else device
        torch.cuda.set_device(torch.device(device))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        dist.init_process_group(backend=backend)
        log.info("DDP: rank %d of %d (%s, %s)", rank, world, backend, device)
    return DistContext(rank=rank, world_size=world, local_rank=local, device=device)


def teardown(ctx: DistContext) -> None:
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()


def wrap(model: nn.Module, ctx: DistContext) -> nn.Module:
    """DistributedDataParallel around the model (re-wrapped per stage: the trainable set changes)."""
    if not ctx.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [torch.device(ctx.device).index] if ctx.device.startswith("cuda") else None
    return DistributedDataParallel(model, device_ids=ids)


def state_checksum(model: nn.Module) -> str:
    """SHA-256 over every parameter and buffer (names, shapes, bytes): equal iff bit-identical."""
    h = hashlib.sha256()
    for name, t in sorted(getattr(model, "module", model).state_dict().items()):
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
