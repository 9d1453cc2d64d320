"""Multi-process data-parallel training under `torchrun` (gloo on CPU, nccl on CUDA).

`torchrun --nproc_per_node N -m rssi_ros train ...` sets RANK/WORLD_SIZE/LOCAL_RANK; without
them the run is a single process and none of this initialises anything.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

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


def broadcast_buffers(model: nn.Module, ctx: DistContext) -> None:
    """Give every rank rank 0's buffers (BatchNorm running statistics), as DDP does before a forward.

    In train mode each rank's BatchNorm updates its running statistics from its own share of the
    batch; DDP overwrites them with rank 0's only at the start of the next training forward. So
    after an epoch the ranks' buffers differ, and each rank would validate (eval mode uses the
    running statistics) a different model: different early-stopping decisions, then a hang.
    Broadcasting them at the end of the epoch changes nothing rank 0 computes or saves.
    """
    if not ctx.enabled:
        return
    for buf in getattr(model, "module", model).buffers():
        dist.broadcast(buf, src=0)


def state_checksum(model: nn.Module) -> str:
    """SHA-256 over every parameter and buffer (names, shapes, bytes): equal iff bit-identical."""
    h = hashlib.sha256()
    for name, t in sorted(getattr(model, "module", model).state_dict().items()):
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def ranks_agree(checksums: Sequence[str]) -> bool:
    """True when every rank reported the same weight checksum (one rank trivially agrees)."""
    return len(set(checksums)) <= 1


@dataclass
class RankAgreement:
    """Whether the ranks held identical weights after every epoch so far (pure bookkeeping).

    Checked on the live weights at the end of each epoch: comparing at the end of the run would
    prove nothing, because stage 2 and the final metrics reload rank 0's best.pt on every rank.
    """

    last_checksums: list[str] = field(default_factory=list)
    epochs_checked: int = 0
    first_disagreement: int | None = None  # the first global epoch (1-based) whose checksums differed

    def record(self, epoch: int, checksums: Sequence[str]) -> bool:
        """Add one epoch's per-rank checksums; returns whether they agree."""
        agree = ranks_agree(checksums)
        self.last_checksums = list(checksums)
        self.epochs_checked += 1
        if not agree and self.first_disagreement is None:
            self.first_disagreement = epoch
        return agree

    @property
    def all_agree(self) -> bool:
        """True only if at least one epoch was checked and every checked epoch agreed."""
        return self.epochs_checked > 0 and self.first_disagreement is None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> RankAgreement:
        d = d or {}
        return cls(
            last_checksums=list(d.get("last_checksums", [])),
            epochs_checked=int(d.get("epochs_checked", 0)),
            first_disagreement=d.get("first_disagreement"),
        )
