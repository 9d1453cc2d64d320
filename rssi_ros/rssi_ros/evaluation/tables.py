"""Text tables in the paper's layouts: Table III (PL, SH, RSSI x RMSE, MAE, within 1 dB) and Table IV."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

QUANTITY_TITLES = (("pl", "PL"), ("sh", "SH"), ("rssi", "RSSI"))
METRICS = (("rmse", "RMSE"), ("mae", "MAE"), ("within_1db", "<=1dB"))
NAME_WIDTH = 30
CELL = 7


def _cell(metrics: Mapping[str, Any] | None, key: str) -> str:
    if metrics is None:
        return "-".rjust(CELL)
    v = metrics.get(key)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-".rjust(CELL)
    if key == "within_1db":
        return f"{100 * v:.1f}%".rjust(CELL)
    return f"{v:.3f}".rjust(CELL)


def table_iii(rows: Sequence[tuple[str, Mapping[str, Any]]], notes: Sequence[str] = ()) -> str:
    """rows: (name, {"pl": metrics | None, "sh": ..., "rssi": ...}); a None group prints dashes."""
    group_width = len(METRICS) * (CELL + 1) - 1
    head1 = " " * NAME_WIDTH + " | " + " | ".join(t.center(group_width) for _, t in QUANTITY_TITLES)
    head2 = (
        "".ljust(NAME_WIDTH)
        + " | "
        + " | ".join(" ".join(label.rjust(CELL) for _, label in METRICS) for _ in QUANTITY_TITLES)
    )
    lines = [head1, head2, "-" * len(head2)]
    for name, groups in rows:
        cells = " | ".join(
            " ".join(_cell(groups.get(q), key) for key, _ in METRICS) for q, _ in QUANTITY_TITLES
        )
        lines.append(f"{name[:NAME_WIDTH].ljust(NAME_WIDTH)} | {cells}")
    lines += [f"  {note}" for note in notes]
    return "\n".join(lines)
