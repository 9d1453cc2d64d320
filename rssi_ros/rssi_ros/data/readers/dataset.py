"""What every reader returns: `ReaderOptions` in, `Dataset` out.

One record type for three on-disk layouts lets the trainer, the evaluator, the baselines and the
bag writer work on any of them. Bad rows are counted by reason in `Dataset.skipped` and logged,
so a user sees at once that, say, 5964 rows of a CSV name files that are not there.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rssi_ros.data.classes import ClassVocabulary
from rssi_ros.data.sample import Sample

log = logging.getLogger(__name__)

# Transmitter GPS columns a reader can use.
GPS_RAW = "unit2_loc"
GPS_CALIBRATED = "unit2_loc_cal"
GPS_COLUMNS = (GPS_RAW, GPS_CALIBRATED)
# DeepSense 60 GHz phased array: 64 beams per sweep.
DEFAULT_N_BEAMS = 64
DEFAULT_BBOX_DIR = "unit1/camera_data_bbox"
# Skips of one reason logged at WARNING before the rest go to DEBUG (a CSV can have thousands).
WARNINGS_PER_REASON = 3

SOURCE_OFFICIAL = "official"
SOURCE_CHALLENGE = "challenge"
SOURCE_NPZ = "npz"


@dataclass(frozen=True)
class ReaderOptions:
    """How to read a dataset.

    gps_column: the transmitter fix to use. `unit2_loc` (default) is the raw GPS; `unit2_loc_cal`
        prefers the calibrated fix and falls back to the raw one where a scenario or row has none
        (the fallbacks are counted in `Dataset.meta["reader"]["gps_fallbacks"]`).
    bbox_dir: folder of YOLO label files `<image stem>.txt`, relative to the scenario folder.
    attach_images: set `Sample.image_path` for images that exist (decoding is deferred).
    limit: read at most this many samples per dataset (the first ones in file order); None = all.
    """

    gps_column: str = GPS_RAW
    bbox_dir: str = DEFAULT_BBOX_DIR
    attach_images: bool = True
    limit: int | None = None
    n_beams: int = DEFAULT_N_BEAMS
    classes: ClassVocabulary = field(default_factory=ClassVocabulary)

    def __post_init__(self) -> None:
        if self.gps_column not in GPS_COLUMNS:
            raise ValueError(f"gps_column must be one of {GPS_COLUMNS}, got {self.gps_column!r}")
        if self.limit is not None and self.limit < 0:
            raise ValueError("limit must be non-negative")
        if self.n_beams < 1:
            raise ValueError("n_beams must be positive")

    def full(self, n: int) -> bool:
        """Whether `n` samples already reach the limit."""
        return self.limit is not None and n >= self.limit


@dataclass
class Dataset:
    """Samples of one scenario read from one source.

    source: "official" | "challenge" | "npz". skipped: reason -> number of rows not turned into
    samples. meta: for a generated scene the parsed `scenario.yaml` (camera, generator settings,
    irreducible noise) at top level, plus what the reader saw under `meta["reader"]` (masked
    modalities, GPS fallbacks, unknown classes, files read).
    """

    samples: list[Sample]
    name: str
    source: str
    skipped: Counter = field(default_factory=Counter)
    meta: dict = field(default_factory=dict)
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def keys(self) -> list[str]:
        return [s.key for s in self.samples]

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())


class SkipLog:
    """Counts skipped rows by reason and logs the first few of each reason with where they were."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.counts: Counter = Counter()

    def skip(self, reason: str, message: str) -> None:
        self.counts[reason] += 1
        level = logging.WARNING if self.counts[reason] <= WARNINGS_PER_REASON else logging.DEBUG
        log.log(level, "%s: skipped row (%s): %s", self.name, reason, message)

    def summarise(self, n_read: int) -> None:
        if self.counts:
            log.warning(
                "%s: read %d samples, skipped %d rows: %s",
                self.name,
                n_read,
                sum(self.counts.values()),
                ", ".join(f"{k}={v}" for k, v in sorted(self.counts.items())),
            )
        else:
            log.info("%s: read %d samples", self.name, n_read)
