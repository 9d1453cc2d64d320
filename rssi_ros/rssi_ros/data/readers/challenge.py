"""Reader (b): the position-aided beam prediction challenge layout of a scenario.

`scenarioN_dev_{train,val,test}.csv` with `index, unit2_loc_1, unit1_pwr_1, beam_index_1`; the
basestation's fix is `unit1/GPS_data/gps_location.txt` in the same folder. The challenge CSVs carry
neither drive numbers nor time stamps, so samples have `seq_index = -1` (the drive split refuses
them) and `stamp = NaN`. Files are numbered with gaps (`mmWave_power_<n>.txt`, n = 0..2450 for the 2300
samples of scenario 5), as in the official CSVs, whose `index` column counts samples 1, 2, 3...
So the sample index is the rank of the file number among all challenge CSVs of the folder: the
challenge release of scenario 5 holds every sample, so this is the official index and keys agree
with the npz reader (`scenario5:1` is the same measurement in both). The file number stays in
`Sample.extras["file_number"]`.
"""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path

from rssi_ros.data.readers.dataset import GPS_CALIBRATED, SOURCE_CHALLENGE, Dataset, ReaderOptions, SkipLog
from rssi_ros.data.readers.files import (
    DUPLICATE_SAMPLE,
    MISSING_FIELD,
    NO_CALIBRATED_FIX,
    RowError,
    parse_int,
    read_latlon,
    read_powers,
    resolve,
)
from rssi_ros.data.readers.official import csv_header, scenario_name
from rssi_ros.data.sample import Sample
from rssi_ros.physics.db import mean_power_db

log = logging.getLogger(__name__)

TX_COLUMN = "unit2_loc_1"
POWER_COLUMN = "unit1_pwr_1"
BEAM_COLUMN = "beam_index_1"
REQUIRED_COLUMNS = (TX_COLUMN, POWER_COLUMN)
RX_GPS_FILE = Path("unit1") / "GPS_data" / "gps_location.txt"
# Order in which the parts of a challenge folder are read (others follow by name).
PART_ORDER = ("train", "val", "test")
_FILE_NUMBER = re.compile(r"_(\d+)\.txt$")
_PART = re.compile(r"_(train|val|test)\b", re.IGNORECASE)


def is_challenge_csv(path: Path) -> bool:
    return set(REQUIRED_COLUMNS) <= set(csv_header(path))


def challenge_csvs(folder: Path) -> list[Path]:
    found = [p for p in folder.glob("*.csv") if is_challenge_csv(p)]

    def order(p: Path) -> tuple[int, str]:
        part = _part(p)
        return (PART_ORDER.index(part) if part in PART_ORDER else len(PART_ORDER), p.name)

    return sorted(found, key=order)


def _part(path: Path) -> str:
    m = _PART.search(path.stem)
    return m.group(1).lower() if m else path.stem


def _file_number(power_cell: str) -> int | None:
    m = _FILE_NUMBER.search(power_cell.strip())
    return int(m.group(1)) if m else None


def _index_of_file_numbers(csvs: list[Path]) -> dict[int, int]:
    """File number -> 1-based rank among every power file the folder's challenge CSVs name."""
    numbers: set[int] = set()
    for csv_path in csvs:
        with csv_path.open(newline="") as f:
            rows = csv.reader(f)
            # Stripped like the header `read_challenge` uses, so both see the same power column.
            header = [c.strip() for c in next(rows, [])]
            for cells in rows:
                n = _file_number(dict(zip(header, cells, strict=False)).get(POWER_COLUMN) or "")
                if n is not None:
                    numbers.add(n)
    return {n: i for i, n in enumerate(sorted(numbers), start=1)}


def read_challenge(path: Path, options: ReaderOptions) -> Dataset:
    """Read a challenge folder (all its CSVs) or one of its CSVs; samples ordered by index."""
    csvs = challenge_csvs(path) if path.is_dir() else [path]
    if not csvs:
        raise ValueError(f"no challenge CSV (columns {', '.join(REQUIRED_COLUMNS)}) in {path}")
    root = csvs[0].parent
    # Ranks over all parts in the folder, so reading one part gives the same keys as reading all.
    index_of = _index_of_file_numbers(challenge_csvs(root) if path.is_file() else csvs)
    name = scenario_name(csvs[0])
    rx_path = root / RX_GPS_FILE
    if not rx_path.is_file():
        raise ValueError(f"the challenge layout needs the basestation fix {rx_path}; it is missing")
    try:
        rx_lat, rx_lon = read_latlon(root, str(RX_GPS_FILE))
    except RowError as exc:  # one basestation fix for every row: a file-level error, not a skip
        raise ValueError(f"the challenge layout's basestation fix is unusable: {exc}") from exc
    skips = SkipLog(f"{name} ({path})")
    samples: list[Sample] = []
    seen: set[int] = set()
    running = 0
    for csv_path in csvs:
        part = _part(csv_path)
        with csv_path.open(newline="") as f:
            rows = csv.reader(f)
            header = [c.strip() for c in next(rows, [])]
            for row_number, cells in enumerate(rows, start=1):
                if not any(c.strip() for c in cells):
                    continue
                if options.full(len(samples)):
                    break
                running += 1
                row = dict(zip(header, cells, strict=False))
                where = f"{csv_path.name} row {row_number}"
                try:
                    power_cell = (row.get(POWER_COLUMN) or "").strip()
                    if not power_cell:
                        raise RowError(MISSING_FIELD, f"empty {POWER_COLUMN}")
                    number = _file_number(power_cell)
                    index = index_of[number] if number is not None else running
                    powers = read_powers(resolve(root, power_cell), options.n_beams)
                    tx_lat, tx_lon = read_latlon(root, row.get(TX_COLUMN) or "")
                    beam = parse_int(row.get(BEAM_COLUMN), -1)
                except RowError as exc:
                    skips.skip(exc.reason, f"{where}: {exc}")
                    continue
                if index in seen:
                    skips.skip(DUPLICATE_SAMPLE, f"{where}: sample {index} already read")
                    continue
                seen.add(index)
                extras: dict = {"challenge_part": part, "row": row_number, "file_number": number}
                if beam >= 0:
                    extras["beam_index"] = beam
                samples.append(
                    Sample(
                        rx_lat=rx_lat,
                        rx_lon=rx_lon,
                        tx_lat=tx_lat,
                        tx_lon=tx_lon,
                        rssi_db=float(mean_power_db(powers)),
                        beam_powers=powers,
                        scenario=name,
                        index=index,
                        extras=extras,
                    )
                )
    samples.sort(key=lambda s: s.index)
    skips.summarise(len(samples))
    # The challenge release has only the raw fix; a request for the calibrated one falls back.
    fallbacks = len(samples) if options.gps_column == GPS_CALIBRATED else 0
    if fallbacks:
        log.warning(
            "%s: the challenge layout has no %s; all %d samples use the raw fix",
            name,
            GPS_CALIBRATED,
            fallbacks,
        )
    meta = {
        "reader": {
            "csvs": [str(p) for p in csvs],
            "gps_column": options.gps_column,
            "gps_fallbacks": fallbacks,
            "gps_fallback_reasons": {NO_CALIBRATED_FIX: fallbacks} if fallbacks else {},
            "masked": {},
        }
    }
    return Dataset(samples, name, SOURCE_CHALLENGE, skips.counts, meta, path)
