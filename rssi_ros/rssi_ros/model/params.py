"""Parameter counting per component (the paper's Table I figure and its 2.51 M budget)."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

# Components reported separately; everything else (gates, heads) is grouped by its module name.
COMPONENTS = ("image_encoder", "position_encoder", "box_encoder", "pl_head", "sh_head", "head")


def parameter_counts(model: nn.Module) -> OrderedDict[str, int]:
    """Parameters per top-level component, then `total` and `trainable` (counted once per tensor)."""
    counts: OrderedDict[str, int] = OrderedDict()
    seen: set[int] = set()
    for name, param in model.named_parameters():
        if id(param) in seen:
            continue
        seen.add(id(param))
        top = name.split(".", 1)[0]
        key = top if top in COMPONENTS else "gates" if top.endswith("_gate") else top
        counts[key] = counts.get(key, 0) + param.numel()
    unique = {id(p): p for p in model.parameters()}.values()
    counts["total"] = sum(p.numel() for p in unique)
    counts["trainable"] = sum(p.numel() for p in unique if p.requires_grad)
    return counts


def format_millions(n: int) -> str:
    return f"{n / 1e6:.3f} M"
