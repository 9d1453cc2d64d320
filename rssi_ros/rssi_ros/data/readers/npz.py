"""Reader (c): the compact `scenarioN.npz` (arrays named after the official CSV columns).

Layout (see `shared/data/deepsense/README.md`): `unit1_pwr_60ghz` (S, 64) linear powers in official
beam order, `unit1_loc` / `unit2_loc` / optional `unit2_loc_cal` (S, 2) latitude-longitude,
`seq_index` (S,), `index` (S,) 1-based. No images and no boxes: those modalities are masked.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from rssi_ros.data.readers.dataset import GPS_CALIBRATED, SOURCE_NPZ, Dataset, ReaderOptions, SkipLog
from rssi_ros.data.readers.files import (
    BAD_GPS,
    DUPLICATE_SAMPLE,
    NON_POSITIVE_POWER,
    RowError,
    check_latlon,
)
from rssi_ros.data.readers.official import scenario_name
from rssi_ros.data.sample import Sample
from rssi_ros.physics.db import mean_power_db

POWER_KEY = "unit1_pwr_60ghz"
RX_KEY = "unit1_loc"
TX_KEY = "unit2_loc"
REQUIRED_KEYS = (POWER_KEY, RX_KEY, TX_KEY)
OPTIONAL_KEYS = (GPS_CALIBRATED, "seq_index", "index")
# What numpy raises for a file that is not a readable npz: not a zip (or truncated), a corrupt
# member, an unreadable file, or an array stored as pickled objects (refused: allow_pickle=False).
_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError)


def _load_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays the reader uses, loaded eagerly; a corrupt file is a ValueError that names it.

    Members are decompressed lazily by numpy, so a damaged member only fails when it is read:
    reading them all here keeps every such failure inside this one clear error.
    """
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array (.npy), not named arrays")
        with loaded as data:
            names = list(data.files)
            arrays = {k: data[k] for k in (*REQUIRED_KEYS, *OPTIONAL_KEYS) if k in names}
    except _UNREADABLE as exc:
        raise ValueError(f"{path} is not a readable .npz file: {type(exc).__name__}: {exc}") from exc
    missing = [k for k in REQUIRED_KEYS if k not in arrays]
    if missing:
        raise ValueError(f"{path} lacks the arrays {missing} (has {sorted(names)})")
    return arrays


def _latlon_array(data: dict[str, np.ndarray], key: str, n: int, path: Path) -> np.ndarray:
    arr = np.asarray(data[key], dtype=np.float64)
    if arr.shape != (n, 2):
        raise ValueError(f"{path}: {key} has shape {arr.shape}, expected ({n}, 2)")
    return arr


def read_npz(path: Path, options: ReaderOptions) -> Dataset:
    """Read one `scenarioN.npz`; a file whose arrays do not fit together raises a clear error."""
    data = _load_arrays(path)
    powers = np.asarray(data[POWER_KEY], dtype=np.float64)
    if powers.ndim != 2 or powers.shape[1] != options.n_beams:
        raise ValueError(f"{path}: {POWER_KEY} has shape {powers.shape}, expected (S, {options.n_beams})")
    n = powers.shape[0]
    rx = _latlon_array(data, RX_KEY, n, path)
    tx = _latlon_array(data, TX_KEY, n, path)
    has_cal = GPS_CALIBRATED in data
    cal = _latlon_array(data, GPS_CALIBRATED, n, path) if has_cal else None
    seq = np.asarray(data["seq_index"], dtype=np.int64) if "seq_index" in data else np.full(n, -1)
    index = np.asarray(data["index"], dtype=np.int64) if "index" in data else np.arange(1, n + 1)
    if seq.shape != (n,) or index.shape != (n,):
        raise ValueError(f"{path}: seq_index/index must have shape ({n},)")
    fallbacks = 0
    if options.gps_column == GPS_CALIBRATED:
        if cal is None:
            fallbacks = n
        else:
            # Prefer the calibrated fix row by row; rows without one keep the raw fix.
            usable = np.all(np.isfinite(cal), axis=1)
            fallbacks = int(np.count_nonzero(~usable))
            tx = np.where(usable[:, None], cal, tx)
    name = scenario_name(path)
    skips = SkipLog(f"{name} ({path})")
    good_power = np.all(np.isfinite(powers) & (powers > 0), axis=1)
    rssi = np.full(n, np.nan)
    rssi[good_power] = mean_power_db(powers[good_power])
    samples: list[Sample] = []
    seen: set[int] = set()
    for i in range(n):
        if options.full(len(samples)):
            break
        where = f"row {i} (index {int(index[i])})"
        if not good_power[i]:
            skips.skip(NON_POSITIVE_POWER, f"{where}: beam powers must be finite and positive")
            continue
        try:
            rx_lat, rx_lon = check_latlon(float(rx[i, 0]), float(rx[i, 1]), f"{where} {RX_KEY}")
            tx_lat, tx_lon = check_latlon(float(tx[i, 0]), float(tx[i, 1]), f"{where} {TX_KEY}")
        except RowError as exc:
            skips.skip(BAD_GPS, str(exc))
            continue
        if int(index[i]) in seen:
            skips.skip(DUPLICATE_SAMPLE, f"{where}: index repeats")
            continue
        seen.add(int(index[i]))
        samples.append(
            Sample(
                rx_lat=rx_lat,
                rx_lon=rx_lon,
                tx_lat=tx_lat,
                tx_lon=tx_lon,
                rssi_db=float(rssi[i]),
                beam_powers=powers[i],
                scenario=name,
                index=int(index[i]),
                seq_index=int(seq[i]),
                extras={"beam_index": int(np.argmax(powers[i])) + 1},
            )
        )
    skips.summarise(len(samples))
    meta = {
        "reader": {
            "npz": str(path),
            "gps_column": options.gps_column,
            "has_calibrated_gps": has_cal,
            "gps_fallbacks": fallbacks,
            "masked": {},
        }
    }
    return Dataset(samples, name, SOURCE_NPZ, skips.counts, meta, path)
