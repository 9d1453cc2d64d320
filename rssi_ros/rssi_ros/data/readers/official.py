"""Reader (a): an official DeepSense 6G scenario folder, `scenarioN.csv` plus the files it names.

Also reads the scenes the synthetic generator writes (same layout, plus YOLO labels in
`ReaderOptions.bbox_dir`, the `unit1_tx_bbox_line` column and `scenario.yaml`).
Paths in the CSV (`./unit1/...`) are relative to the CSV's folder.
"""

from __future__ import annotations

import csv
import logging
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from rssi_ros.data.readers.dataset import (
    GPS_CALIBRATED,
    GPS_RAW,
    SOURCE_OFFICIAL,
    Dataset,
    ReaderOptions,
    SkipLog,
)
from rssi_ros.data.readers.files import (
    BAD_LABEL_FILE,
    BAD_TX_BOX_LINE,
    IMAGE_FILE_MISSING,
    LABEL_FILE_MISSING,
    MISSING_FIELD,
    NO_CALIBRATED_FIX,
    TX_NOT_IN_VIEW,
    RowError,
    parse_int,
    parse_time_stamp,
    read_label_file,
    read_latlon,
    read_powers,
    resolve,
)
from rssi_ros.data.sample import Box, Sample
from rssi_ros.physics.db import mean_power_db

log = logging.getLogger(__name__)

POWER_COLUMN = "unit1_pwr_60ghz"
RX_COLUMN = "unit1_loc"
IMAGE_COLUMN = "unit1_rgb"
TX_BOX_COLUMN = "unit1_tx_bbox_line"
STAMP_COLUMN = "time_stamp[UTC]"
REQUIRED_COLUMNS = (POWER_COLUMN, RX_COLUMN, GPS_RAW)
SCENE_YAML = "scenario.yaml"
_SCENARIO_NAME = re.compile(r"scenario\d+", re.IGNORECASE)


def is_official_csv(path: Path) -> bool:
    """Whether a CSV has the official header (the power and GPS columns of the scenario CSVs)."""
    return set(REQUIRED_COLUMNS) <= set(csv_header(path))


def csv_header(path: Path) -> list[str]:
    """The stripped header cells of a CSV; a file that is not UTF-8 text is a ValueError naming it."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            return [c.strip() for c in next(csv.reader(f), [])]
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not a UTF-8 text CSV: {exc}") from exc


def find_official_csv(folder: Path) -> Path | None:
    """The one official scenario CSV in a folder; None when there is none, an error when ambiguous."""
    found = sorted(p for p in folder.glob("*.csv") if is_official_csv(p))
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise ValueError(f"{folder} holds several scenario CSVs ({names}); pass the one to read")
    return found[0] if found else None


def scenario_name(csv_path: Path) -> str:
    """`scenario9` from `.../scenario9.csv` (or from the folder name); otherwise the file stem."""
    for candidate in (csv_path.stem, csv_path.parent.name):
        m = _SCENARIO_NAME.search(candidate)
        if m:
            return m.group(0).lower()
    return csv_path.stem


def read_scene_yaml(folder: Path) -> dict:
    """The generator's `scenario.yaml` next to the CSV, or {} (real scenarios have none)."""
    path = folder / SCENE_YAML
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"cannot parse {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a mapping, got {type(data).__name__}")
    return data


@dataclass
class _Aggregated:
    """Count of one kind of per-file problem plus the first example, logged once per dataset.

    A scene can have thousands of bad label files; one line per file would bury everything else.
    """

    count: int = 0
    example: str = ""

    def add(self, message: str) -> None:
        self.count += 1
        if not self.example:
            self.example = message


class _RowReader:
    """Turns one CSV row into a `Sample` or raises `RowError`; keeps the per-file caches and counts."""

    def __init__(self, root: Path, name: str, header: list[str], options: ReaderOptions) -> None:
        self.root = root
        self.name = name
        self.options = options
        self.has_cal = GPS_CALIBRATED in header
        self.use_cal = options.gps_column == GPS_CALIBRATED
        self.bbox_dir = root / options.bbox_dir
        self.has_bbox_dir = self.bbox_dir.is_dir()
        self.rx_cache: dict[str, tuple[float, float]] = {}
        self.masked: Counter = Counter()
        self.gps_fallback_reasons: Counter = Counter()
        self.unknown_classes = 0
        # mask or fallback reason -> count and first example, logged by `log_summary`
        self.problems: dict[str, _Aggregated] = {}

    def rx(self, cell: str) -> tuple[float, float]:
        # Every row names the same basestation file; read it once.
        if cell not in self.rx_cache:
            self.rx_cache[cell] = read_latlon(self.root, cell)
        return self.rx_cache[cell]

    def tx(self, row: dict[str, str], row_number: int) -> tuple[float, float]:
        """The transmitter fix; the calibrated one is optional, so any problem with it falls back."""
        raw = (row.get(GPS_RAW) or "").strip()
        if self.use_cal:
            cell = (row.get(GPS_CALIBRATED) or "").strip()
            if cell:
                try:
                    return read_latlon(self.root, cell)
                except RowError as exc:
                    # Read the raw fix first: a row without any usable fix is skipped, not a fallback.
                    fix = read_latlon(self.root, raw)
                    self._fallback(exc.reason, f"row {row_number}: {exc}")
                    return fix
            fix = read_latlon(self.root, raw)
            self._fallback(NO_CALIBRATED_FIX, f"row {row_number}: empty {GPS_CALIBRATED}")
            return fix
        return read_latlon(self.root, raw)

    @property
    def gps_fallbacks(self) -> int:
        return sum(self.gps_fallback_reasons.values())

    def _fallback(self, reason: str, message: str) -> None:
        self.gps_fallback_reasons[reason] += 1
        self.problems.setdefault(f"gps fallback ({reason})", _Aggregated()).add(message)

    def _mask(self, reason: str, message: str | None = None) -> None:
        self.masked[reason] += 1
        if message is not None:
            self.problems.setdefault(f"boxes masked ({reason})", _Aggregated()).add(message)

    def image_path(self, cell: str) -> Path | None:
        if not self.options.attach_images or not cell:
            return None
        path = resolve(self.root, cell)
        if path.is_file():
            return path
        self._mask(IMAGE_FILE_MISSING)
        return None

    def boxes(self, image_cell: str, tx_cell: str | None) -> list[Box] | None:
        """The frame's boxes; None (a masked modality, counted) when its label file is missing or bad.

        A bad file masks all of the frame's boxes rather than dropping the bad lines: a partial list
        could silently lose the transmitter or a blocker. The rest of the row is still good data.
        """
        if not self.has_bbox_dir or not image_cell:
            return None
        label = self.bbox_dir / (Path(image_cell.strip()).stem + ".txt")
        if not label.is_file():
            self._mask(LABEL_FILE_MISSING)
            return None
        try:
            tx_line = parse_int(tx_cell, TX_NOT_IN_VIEW, reason=BAD_TX_BOX_LINE)
        except RowError as exc:
            self._mask(BAD_TX_BOX_LINE, f"{TX_BOX_COLUMN} for {label}: {exc}")
            return None
        try:
            parsed = read_label_file(label, self.options.classes, tx_line)
        except RowError as exc:  # the message names the file (and line)
            self._mask(BAD_TX_BOX_LINE if exc.reason == BAD_TX_BOX_LINE else BAD_LABEL_FILE, str(exc))
            return None
        self.unknown_classes += parsed.n_unknown_classes
        return parsed.boxes

    def log_summary(self) -> None:
        """One WARNING per kind of problem (count and first example), however many files had it."""
        for what, agg in sorted(self.problems.items()):
            log.warning("%s: %s in %d rows, e.g. %s", self.name, what, agg.count, agg.example)

    def sample(self, row: dict[str, str], row_number: int) -> Sample:
        power_cell = (row.get(POWER_COLUMN) or "").strip()
        if not power_cell:
            raise RowError(MISSING_FIELD, f"empty {POWER_COLUMN}")
        index = parse_int(row.get("index"), row_number)
        powers = read_powers(resolve(self.root, power_cell), self.options.n_beams)
        rx_lat, rx_lon = self.rx(row.get(RX_COLUMN) or "")
        tx_lat, tx_lon = self.tx(row, row_number)
        image_cell = (row.get(IMAGE_COLUMN) or "").strip()
        boxes = self.boxes(image_cell, row.get(TX_BOX_COLUMN))
        extras: dict = {"row": row_number}
        beam = parse_int(row.get("unit1_beam_index"), -1)
        if beam >= 0:
            extras["beam_index"] = beam
        return Sample(
            rx_lat=rx_lat,
            rx_lon=rx_lon,
            tx_lat=tx_lat,
            tx_lon=tx_lon,
            image_path=self.image_path(image_cell),
            boxes=boxes,
            rssi_db=float(mean_power_db(powers)),
            beam_powers=powers,
            scenario=self.name,
            index=index,
            seq_index=parse_int(row.get("seq_index"), -1),
            stamp=parse_time_stamp(row.get(STAMP_COLUMN) or ""),
            extras=extras,
        )


def read_official(path: Path, options: ReaderOptions) -> Dataset:
    """Read an official scenario folder or its CSV (auto-detected by `read_dataset`)."""
    csv_path = path
    if path.is_dir():
        found = find_official_csv(path)
        if found is None:
            raise ValueError(f"no official scenario CSV (columns {', '.join(REQUIRED_COLUMNS)}) in {path}")
        csv_path = found
    header = csv_header(csv_path)
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ValueError(f"{csv_path} lacks the columns {missing}; it is not an official scenario CSV")
    root = csv_path.parent
    name = scenario_name(csv_path)
    reader = _RowReader(root, name, header, options)
    skips = SkipLog(f"{name} ({csv_path})")
    samples: list[Sample] = []
    seen: set[int] = set()
    with csv_path.open(newline="") as f:
        rows = csv.reader(f)
        next(rows, None)  # the header, already read (stripped) above
        for row_number, cells in enumerate(rows, start=1):
            if not any(c.strip() for c in cells):
                continue  # blank line
            row = dict(zip(header, cells, strict=False))
            if options.full(len(samples)):
                break
            try:
                sample = reader.sample(row, row_number)
            except RowError as exc:
                skips.skip(exc.reason, f"row {row_number}: {exc}")
                continue
            if sample.index in seen:
                skips.skip("duplicate_sample", f"row {row_number}: index {sample.index} repeats")
                continue
            seen.add(sample.index)
            samples.append(sample)
    skips.summarise(len(samples))
    reader.log_summary()
    if reader.use_cal and not reader.has_cal:
        log.warning("%s has no %s column; using %s", csv_path, GPS_CALIBRATED, GPS_RAW)
    meta = read_scene_yaml(root)
    meta["reader"] = {
        "csv": str(csv_path),
        "gps_column": options.gps_column,
        "gps_fallbacks": reader.gps_fallbacks,
        "gps_fallback_reasons": dict(reader.gps_fallback_reasons),
        "bbox_dir": str(reader.bbox_dir) if reader.has_bbox_dir else None,
        "masked": dict(reader.masked),
        "unknown_classes": reader.unknown_classes,
    }
    if reader.masked:
        log.info("%s: modalities masked: %s", name, dict(reader.masked))
    return Dataset(samples, name, SOURCE_OFFICIAL, skips.counts, meta, csv_path)
