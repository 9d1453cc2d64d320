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
    MISSING_FIELD,
    TX_NOT_IN_VIEW,
    RowError,
    parse_int,
    parse_time_stamp,
    parse_yolo_labels,
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
    with path.open(newline="") as f:
        return [c.strip() for c in next(csv.reader(f), [])]


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
        self.gps_fallbacks = 0
        self.unknown_classes = 0

    def rx(self, cell: str) -> tuple[float, float]:
        # Every row names the same basestation file; read it once.
        if cell not in self.rx_cache:
            self.rx_cache[cell] = read_latlon(self.root, cell)
        return self.rx_cache[cell]

    def tx(self, row: dict[str, str]) -> tuple[float, float]:
        if self.use_cal:
            cell = (row.get(GPS_CALIBRATED) or "").strip()
            if cell:
                return read_latlon(self.root, cell)
            self.gps_fallbacks += 1
        return read_latlon(self.root, row.get(GPS_RAW) or "")

    def image_path(self, cell: str) -> Path | None:
        if not self.options.attach_images or not cell:
            return None
        path = resolve(self.root, cell)
        if path.is_file():
            return path
        self.masked["image_file_missing"] += 1
        return None

    def boxes(self, image_cell: str, tx_cell: str | None) -> list[Box] | None:
        if not self.has_bbox_dir or not image_cell:
            return None
        label = self.bbox_dir / (Path(image_cell.strip()).stem + ".txt")
        if not label.is_file():
            self.masked["label_file_missing"] += 1
            return None
        tx_line = parse_int(tx_cell, TX_NOT_IN_VIEW, reason="bad_tx_box_line")
        parsed = parse_yolo_labels(label.read_text(), self.options.classes, tx_line, str(label))
        self.unknown_classes += parsed.n_unknown_classes
        return parsed.boxes

    def sample(self, row: dict[str, str], row_number: int) -> Sample:
        power_cell = (row.get(POWER_COLUMN) or "").strip()
        if not power_cell:
            raise RowError(MISSING_FIELD, f"empty {POWER_COLUMN}")
        index = parse_int(row.get("index"), row_number)
        powers = read_powers(resolve(self.root, power_cell), self.options.n_beams)
        rx_lat, rx_lon = self.rx(row.get(RX_COLUMN) or "")
        tx_lat, tx_lon = self.tx(row)
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
    if reader.use_cal and not reader.has_cal:
        log.warning("%s has no %s column; using %s", csv_path, GPS_CALIBRATED, GPS_RAW)
    meta = read_scene_yaml(root)
    meta["reader"] = {
        "csv": str(csv_path),
        "gps_column": options.gps_column,
        "gps_fallbacks": reader.gps_fallbacks,
        "bbox_dir": str(reader.bbox_dir) if reader.has_bbox_dir else None,
        "masked": dict(reader.masked),
        "unknown_classes": reader.unknown_classes,
    }
    if reader.masked:
        log.info("%s: modalities masked: %s", name, dict(reader.masked))
    return Dataset(samples, name, SOURCE_OFFICIAL, skips.counts, meta, csv_path)
