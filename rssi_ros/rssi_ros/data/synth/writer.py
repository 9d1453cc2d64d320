"""Files of a generated scene in the official DeepSense 6G layout (what the official reader reads).

    <out>/scenarioN.csv                                   one row per frame (paths relative, ./unit1/...)
    <out>/scenario.yaml                                   camera, settings, true exponent, irreducible noise
    <out>/synth_truth.csv                                 per-frame truth (distance, blockage, shadowing, ...)
    <out>/unit1/camera_data/image_BS1_<i>_<hh>_<mm>_<ss>.jpg   960x540 RGB
    <out>/unit1/camera_data_bbox/<image stem>.txt         YOLO labels, COCO class ids
    <out>/unit1/mmWave_data/mmWave_power_<i-1>.txt        64 lines, linear power, official beam order
    <out>/unit1/GPS_data/gps_location.txt                 basestation latitude, longitude
    <out>/unit2/GPS_data/gps_location_<i-1>.txt           transmitter GPS (with noise)
    <out>/unit2/GPS_data_calibrated/gps_location_<i-1>.txt exact transmitter position

Numbers are written with 18 significant decimals (like numpy.savetxt's default) so they read back
bit-exactly; nothing machine- or time-dependent is written, so one seed gives identical bytes.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import yaml
from numpy.typing import NDArray

CSV_COLUMNS = (
    "index",
    "unit1_rgb",
    "unit1_pwr_60ghz",
    "unit1_loc",
    "unit2_loc",
    "unit2_loc_cal",
    "unit1_beam_index",
    "seq_index",
    "time_stamp[UTC]",
    "unit1_tx_bbox_line",
)
SCENARIO_YAML = "scenario.yaml"
TRUTH_CSV = "synth_truth.csv"
GENERATOR_ID = "rssi_ros.data.synth"
CAMERA_DIR = Path("unit1") / "camera_data"
LABEL_DIR = Path("unit1") / "camera_data_bbox"
POWER_DIR = Path("unit1") / "mmWave_data"
BS_GPS = Path("unit1") / "GPS_data" / "gps_location.txt"
TX_GPS_DIR = Path("unit2") / "GPS_data"
TX_GPS_CAL_DIR = Path("unit2") / "GPS_data_calibrated"
SECONDS_PER_DAY = 86400.0


def _numbers(values: Sequence[float] | NDArray[np.float64]) -> str:
    return "".join(f"{float(v):.18e}\n" for v in values)


def time_of_day(seconds: float) -> tuple[int, int, int, int]:
    """(hours, minutes, seconds, milliseconds) of a time in seconds since midnight."""
    ms_total = round((seconds % SECONDS_PER_DAY) * 1000.0)
    s, ms = divmod(ms_total, 1000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return h % 24, m, s, ms


def format_stamp(seconds: float) -> str:
    """DeepSense's `time_stamp[UTC]` cell, e.g. `['16-45-05-799']`."""
    h, m, s, ms = time_of_day(seconds)
    return f"['{h:02d}-{m:02d}-{s:02d}-{ms:03d}']"


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class SceneWriter:
    """Writes one scene folder; frame files may be written from several processes."""

    def __init__(self, out_dir: str | Path, name: str, jpeg_quality: int) -> None:
        self.root = Path(out_dir)
        self.name = name
        self.jpeg_params = [int(cv2.IMWRITE_JPEG_QUALITY), int(jpeg_quality)]

    @property
    def csv_path(self) -> Path:
        return self.root / f"{self.name}.csv"

    def prepare(self, overwrite: bool) -> None:
        """Create the folders; refuse to mix with other files, replace an old scene only when asked."""
        if self.root.exists() and any(self.root.iterdir()):
            previous = self.root / SCENARIO_YAML
            if not previous.is_file() or GENERATOR_ID not in previous.read_text(encoding="utf-8"):
                raise FileExistsError(
                    f"{self.root} is not empty and holds no generated scene; choose an empty or new folder"
                )
            if not overwrite:
                raise FileExistsError(
                    f"{self.root} already holds a generated scene; pass overwrite to replace it"
                )
            for child in ("unit1", "unit2"):
                shutil.rmtree(self.root / child, ignore_errors=True)
            for f in (*self.root.glob("scenario*.csv"), self.root / TRUTH_CSV, previous):
                f.unlink(missing_ok=True)
        for d in (CAMERA_DIR, LABEL_DIR, POWER_DIR, BS_GPS.parent, TX_GPS_DIR, TX_GPS_CAL_DIR):
            (self.root / d).mkdir(parents=True, exist_ok=True)

    def write_basestation(self, lat: float, lon: float) -> None:
        (self.root / BS_GPS).write_text(_numbers([lat, lon]), encoding="ascii")

    def image_name(self, index: int, stamp: float) -> str:
        h, m, s, _ = time_of_day(stamp)
        return f"image_BS1_{index}_{h:02d}_{m:02d}_{s:02d}.jpg"

    def write_frame(
        self,
        index: int,
        stamp: float,
        image_rgb: NDArray[np.uint8],
        label_text: str,
        powers: NDArray[np.float64],
        tx_fix: tuple[float, float],
        tx_fix_exact: tuple[float, float],
    ) -> dict[str, str]:
        """Write the files of frame `index` (1-based); returns the paths for its CSV row."""
        image = self.image_name(index, stamp)
        ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR), self.jpeg_params)
        if not ok:
            raise RuntimeError(f"JPEG encoding failed for frame {index}")
        (self.root / CAMERA_DIR / image).write_bytes(jpg.tobytes())
        (self.root / LABEL_DIR / (Path(image).stem + ".txt")).write_text(label_text, encoding="ascii")
        n = index - 1
        power = POWER_DIR / f"mmWave_power_{n}.txt"
        gps = TX_GPS_DIR / f"gps_location_{n}.txt"
        gps_cal = TX_GPS_CAL_DIR / f"gps_location_{n}.txt"
        (self.root / power).write_text(_numbers(powers), encoding="ascii")
        (self.root / gps).write_text(_numbers(tx_fix), encoding="ascii")
        (self.root / gps_cal).write_text(_numbers(tx_fix_exact), encoding="ascii")
        return {
            "unit1_rgb": f"./{(CAMERA_DIR / image).as_posix()}",
            "unit1_pwr_60ghz": f"./{power.as_posix()}",
            "unit1_loc": f"./{BS_GPS.as_posix()}",
            "unit2_loc": f"./{gps.as_posix()}",
            "unit2_loc_cal": f"./{gps_cal.as_posix()}",
        }

    @staticmethod
    def _csv_bytes(columns: Sequence[str], rows: Sequence[dict]) -> bytes:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        return buf.getvalue().encode("utf-8")

    def write_truth(self, columns: Sequence[str], rows: Sequence[dict]) -> Path:
        path = self.root / TRUTH_CSV
        _atomic_write(path, self._csv_bytes(columns, rows))
        return path

    def write_yaml(self, doc: dict) -> Path:
        path = self.root / SCENARIO_YAML
        text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=110)
        _atomic_write(path, text.encode("utf-8"))
        return path

    def write_csv(self, rows: Sequence[dict]) -> Path:
        """The scenario CSV, written last: a folder with a CSV is a finished scene."""
        _atomic_write(self.csv_path, self._csv_bytes(CSV_COLUMNS, rows))
        return self.csv_path
