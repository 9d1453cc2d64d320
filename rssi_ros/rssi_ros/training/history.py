"""Per-epoch metrics: a CSV (always) and TensorBoard scalars (when tensorboard is installed)."""

from __future__ import annotations

import csv
import logging
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger(__name__)

COLUMNS = (
    "global_epoch",
    "stage",
    "epoch",
    "lr",
    "train_loss",
    "val_loss",
    "val_rssi_rmse",
    "val_rssi_mae",
    "val_rssi_within_1db",
    "val_pl_rmse",
    "val_sh_rmse",
    "best",
    "seconds",
)


class History:
    """Appends one row per epoch; on resume, rows after the resumed epoch are dropped first.

    (A kill between writing the row and writing `last.pt` would otherwise leave a row that the
    resumed run writes again.)
    """

    def __init__(self, path: Path, resume_after: int | None, tensorboard: bool) -> None:
        self.path = path
        if resume_after is None or not path.is_file():
            with path.open("w", newline="") as f:
                csv.writer(f).writerow(COLUMNS)
        else:
            with path.open(newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["global_epoch"]) <= resume_after]
            with path.open("w", newline="") as f:
                w = csv.DictWriter(f, COLUMNS)
                w.writeheader()
                w.writerows(rows)
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(path.parent / "tensorboard"))
            except ImportError:
                log.info("tensorboard is not installed; metrics go to %s only", path)

    def append(self, row: Mapping[str, object]) -> None:
        with self.path.open("a", newline="") as f:
            csv.DictWriter(f, COLUMNS).writerow({c: _fmt(row.get(c, "")) for c in COLUMNS})
        if self.writer is not None:
            step = int(row["global_epoch"])  # type: ignore[arg-type]
            for c in COLUMNS[3:-1]:
                value = row.get(c)
                if isinstance(value, float | int) and not isinstance(value, bool):
                    self.writer.add_scalar(c, value, step)
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _fmt(v: object) -> object:
    return f"{v:.9g}" if isinstance(v, float) else v
