"""`read_dataset` / `read_datasets`: recognise the layout of a path and call its reader.

Layouts are told apart by content, not by name: an `.npz` file; a CSV (or a folder holding one)
whose header has the official columns; a CSV (or folder) with the challenge columns. A folder of
`scenarioN.npz` files (like `shared/data/deepsense/`) expands to one dataset per file in
`read_datasets`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

from rssi_ros.data.readers.challenge import challenge_csvs, is_challenge_csv, read_challenge
from rssi_ros.data.readers.dataset import (
    SOURCE_CHALLENGE,
    SOURCE_NPZ,
    SOURCE_OFFICIAL,
    Dataset,
    ReaderOptions,
)
from rssi_ros.data.readers.npz import read_npz
from rssi_ros.data.readers.official import find_official_csv, is_official_csv, read_official

log = logging.getLogger(__name__)

_DIGITS = re.compile(r"(\d+)")


def detect_layout(path: str | Path) -> str:
    """ "official" | "challenge" | "npz" for a path, or a ValueError that says what was found."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"dataset path {p} does not exist")
    if p.is_file():
        if p.suffix.lower() == ".npz":
            return SOURCE_NPZ
        if p.suffix.lower() == ".csv":
            if is_official_csv(p):
                return SOURCE_OFFICIAL
            if is_challenge_csv(p):
                return SOURCE_CHALLENGE
            raise ValueError(f"{p} is neither an official scenario CSV nor a challenge CSV (unknown header)")
        raise ValueError(f"{p}: expected a scenario folder, a .csv or a .npz file")
    if find_official_csv(p) is not None:
        return SOURCE_OFFICIAL
    if challenge_csvs(p):
        return SOURCE_CHALLENGE
    if npz_files(p):
        raise ValueError(f"{p} holds several .npz scenarios; use read_datasets (or pass one file)")
    raise ValueError(f"{p} holds no scenario CSV, challenge CSV or .npz file")


def npz_files(folder: Path) -> list[Path]:
    """The .npz files of a folder in natural order (scenario2 before scenario10)."""

    def natural(p: Path) -> list:
        return [int(t) if t.isdigit() else t for t in _DIGITS.split(p.name)]

    return sorted(folder.glob("*.npz"), key=natural)


def read_dataset(path: str | Path, options: ReaderOptions | None = None) -> Dataset:
    """Read one dataset, auto-detecting the layout (see the module docstring)."""
    p = Path(path)
    opts = options or ReaderOptions()
    layout = detect_layout(p)
    reader = {SOURCE_OFFICIAL: read_official, SOURCE_CHALLENGE: read_challenge, SOURCE_NPZ: read_npz}[layout]
    log.debug("reading %s as %s", p, layout)
    return reader(p, opts)


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """Paths with every folder of bare .npz scenarios replaced by its files."""
    out: list[Path] = []
    for path in paths:
        p = Path(path)
        if p.is_dir() and find_official_csv(p) is None and not challenge_csvs(p) and npz_files(p):
            out.extend(npz_files(p))
        else:
            out.append(p)
    return out


def read_datasets(
    paths: Iterable[str | Path], options: ReaderOptions | None = None, unique_names: bool = True
) -> list[Dataset]:
    """Read several datasets in order; a folder of .npz files gives one dataset per file.

    Scenario names must be unique unless `unique_names` is False (sample keys are
    `scenario:index`, so two sources of one scenario cannot be split or cached together).
    """
    datasets = [read_dataset(p, options) for p in expand(paths)]
    names = [d.name for d in datasets]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated and unique_names:
        raise ValueError(
            f"scenario names {repeated} appear more than once; sample keys would collide "
            "(read each scenario from one source only)"
        )
    return datasets
