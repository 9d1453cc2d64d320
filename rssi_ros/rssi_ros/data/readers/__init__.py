"""Readers of the DeepSense 6G layouts; all return a `Dataset` of `Sample`s.

(a) an official scenario folder or its `scenarioN.csv` (also the generator's scenes, with YOLO
labels and `scenario.yaml`), (b) the position-challenge folder or one of its CSVs, (c) a compact
`scenarioN.npz`. `read_dataset` detects which; a missing modality is a mask (`None`), a bad row is
counted in `Dataset.skipped` by reason and logged.
"""

from rssi_ros.data.readers.dataset import (
    GPS_CALIBRATED,
    GPS_RAW,
    SOURCE_CHALLENGE,
    SOURCE_NPZ,
    SOURCE_OFFICIAL,
    Dataset,
    ReaderOptions,
)
from rssi_ros.data.readers.detect import detect_layout, read_dataset, read_datasets
from rssi_ros.data.readers.files import RowError, parse_time_stamp, parse_yolo_labels

__all__ = [
    "GPS_CALIBRATED",
    "GPS_RAW",
    "SOURCE_CHALLENGE",
    "SOURCE_NPZ",
    "SOURCE_OFFICIAL",
    "Dataset",
    "ReaderOptions",
    "RowError",
    "all_samples",
    "detect_layout",
    "parse_time_stamp",
    "parse_yolo_labels",
    "read_dataset",
    "read_datasets",
]


def all_samples(datasets: list[Dataset]) -> list:
    """The samples of several datasets in one list (the order `make_split` and the cache use)."""
    return [s for d in datasets for s in d.samples]
