"""Writes tiny scenes in the DeepSense layouts, so reader tests know every value they read back.

`write_official_scene`: the official layout, with small JPEGs, 64-line power files, GPS files (raw
and calibrated), YOLO labels in `unit1/camera_data_bbox/` and the `unit1_tx_bbox_line` column, with
file numbers that do not follow the sample index (as in the real CSVs). Rows are chosen to cover the
label cases: transmitter on the first line, on a later line, not in view, an empty label file, and a
missing label file.

`write_challenge_scene`: the position-aided beam prediction challenge layout
(`<name>_dev_{train,val,test}.csv` with `index, unit2_loc_1, unit1_pwr_1, beam_index_1`), with file
numbers that have gaps and are shuffled across the parts, as in the real release of scenario 5.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from rssi_ros.data.sample import Sample

HEADER = [
    "index",
    "unit1_rgb",
    "unit1_pwr_60ghz",
    "unit1_loc",
    "unit1_lidar",
    "unit2_loc",
    "unit2_loc_cal",
    "",
    "unit1_beam_index",
    "seq_index",
    "time_stamp[UTC]",
    "unit1_tx_bbox_line",
]
RX = (33.42035, -111.92915)
N_BEAMS = 64
# File numbers start here, unrelated to the 1-based sample index (the real CSVs have gaps too).
FILE_OFFSET = 100
# Per row: the label file's lines and the transmitter's line (None = no label file at all).
LABELS: list[tuple[list[str] | None, int]] = [
    (["2 0.5 0.6 0.2 0.1", "0 0.1 0.7 0.05 0.2"], 0),  # car = transmitter, person
    (["7 0.3 0.5 0.3 0.2", "2 0.7 0.55 0.1 0.08 0.9"], 1),  # truck, car (with score) = transmitter
    (["5 0.4 0.5 0.3 0.3"], -1),  # bus, transmitter not in view
    ([], -1),  # detector ran, found nothing
    (None, -1),  # no label file: boxes masked
    (["2 0.52 0.61 0.21 0.11", "42 0.2 0.2 0.1 0.1"], 0),  # car = transmitter, unknown COCO id
]


@dataclass
class WrittenScene:
    """What was written, to compare the reader's output with."""

    root: Path
    csv: Path
    name: str
    powers: list[np.ndarray] = field(default_factory=list)
    tx: list[tuple[float, float]] = field(default_factory=list)
    tx_cal: list[tuple[float, float]] = field(default_factory=list)
    seq: list[int] = field(default_factory=list)
    stamps: list[float] = field(default_factory=list)
    images: list[Path] = field(default_factory=list)
    power_files: list[Path] = field(default_factory=list)
    gps_files: list[Path] = field(default_factory=list)
    gps_cal_files: list[Path] = field(default_factory=list)
    label_files: list[Path | None] = field(default_factory=list)

    def row_cells(self) -> list[list[str]]:
        with self.csv.open(newline="") as f:
            return list(csv.reader(f))[1:]

    def rewrite_cell(self, row: int, column: str, value: str) -> None:
        """Change one cell of the CSV (row is 0-based over data rows)."""
        with self.csv.open(newline="") as f:
            rows = list(csv.reader(f))
        rows[row + 1][rows[0].index(column)] = value
        with self.csv.open("w", newline="") as f:
            csv.writer(f).writerows(rows)


def _stamp_cell(seconds: float) -> tuple[str, float]:
    ms_total = round(seconds * 1000)
    h, rem = divmod(ms_total, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"['{h:02d}-{m:02d}-{s:02d}-{ms:03d}']", ms_total / 1000.0


def write_official_scene(
    root: Path,
    name: str = "scenario42",
    n_frames: int = len(LABELS),
    seed: int = 0,
    image_wh: tuple[int, int] = (48, 32),
    scene_yaml: str | None = None,
) -> WrittenScene:
    """Write `n_frames` rows (label cases cycle through `LABELS`) into `root`; return what was written."""
    rng = np.random.default_rng(seed)
    for sub in ("unit1/camera_data", "unit1/mmWave_data", "unit1/GPS_data", "unit1/camera_data_bbox"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "unit2/GPS_data").mkdir(parents=True, exist_ok=True)
    (root / "unit2/GPS_data_calibrated").mkdir(parents=True, exist_ok=True)
    (root / "unit1/GPS_data/gps_location.txt").write_text(f"{RX[0]!r}\n{RX[1]!r}\n")
    scene = WrittenScene(root=root, csv=root / f"{name}.csv", name=name)
    rows = []
    for i in range(n_frames):
        n = FILE_OFFSET + 3 * i
        powers = rng.uniform(0.01, 0.5, N_BEAMS)
        (root / f"unit1/mmWave_data/mmWave_power_{n}.txt").write_text(
            "".join(f"{float(p)!r}\n" for p in powers)
        )
        tx = (RX[0] + 2e-4 + 1e-5 * i, RX[1] + 3e-4 - 2e-5 * i)
        tx_cal = (tx[0] + 1e-6, tx[1] - 1e-6)
        (root / f"unit2/GPS_data/gps_location_{n}.txt").write_text(f"{tx[0]!r}\n{tx[1]!r}\n")
        (root / f"unit2/GPS_data_calibrated/gps_location_{n}.txt").write_text(
            f"{tx_cal[0]!r}\n{tx_cal[1]!r}\n"
        )
        image = root / f"unit1/camera_data/image_BS1_{n}_16_45_05.jpg"
        pixels = rng.integers(0, 256, (image_wh[1], image_wh[0], 3), dtype=np.uint8)
        assert cv2.imwrite(str(image), pixels)
        lines, tx_line = LABELS[i % len(LABELS)]
        label = None
        if lines is not None:
            label = root / "unit1/camera_data_bbox" / f"{image.stem}.txt"
            label.write_text("".join(f"{line}\n" for line in lines))
        stamp_cell, stamp = _stamp_cell(16 * 3600 + 45 * 60 + 5.799 + 0.1 * i)
        seq = 1 + i // 3
        rows.append(
            [
                str(i + 1),
                f"./unit1/camera_data/{image.name}",
                f"./unit1/mmWave_data/mmWave_power_{n}.txt",
                "./unit1/GPS_data/gps_location.txt",
                f"./unit1/lidar_data/Lidar_data_{n}.mat",
                f"./unit2/GPS_data/gps_location_{n}.txt",
                f"./unit2/GPS_data_calibrated/gps_location_{n}.txt",
                "",
                str(int(np.argmax(powers)) + 1),
                str(seq),
                stamp_cell,
                str(tx_line),
            ]
        )
        scene.powers.append(powers)
        scene.tx.append(tx)
        scene.tx_cal.append(tx_cal)
        scene.seq.append(seq)
        scene.stamps.append(stamp)
        scene.images.append(image)
        scene.power_files.append(root / f"unit1/mmWave_data/mmWave_power_{n}.txt")
        scene.gps_files.append(root / f"unit2/GPS_data/gps_location_{n}.txt")
        scene.gps_cal_files.append(root / f"unit2/GPS_data_calibrated/gps_location_{n}.txt")
        scene.label_files.append(label)
    with scene.csv.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows)
    if scene_yaml is not None:
        (root / "scenario.yaml").write_text(scene_yaml)
    return scene


CHALLENGE_HEADER = ["index", "unit2_loc_1", "unit1_pwr_1", "beam_index_1"]
CHALLENGE_PARTS = ("train", "val", "test")
CHALLENGE_RX_FILE = Path("unit1") / "GPS_data" / "gps_location.txt"
# Gap between consecutive file numbers of the challenge scene (the real release skips numbers).
CHALLENGE_FILE_STEP = 2


@dataclass
class WrittenChallenge:
    """What `write_challenge_scene` wrote; sample k (0-based) is the k-th smallest file number."""

    root: Path
    name: str
    csvs: dict[str, Path] = field(default_factory=dict)
    file_numbers: list[int] = field(default_factory=list)
    part_of: dict[int, str] = field(default_factory=dict)  # file number -> part
    powers: dict[int, np.ndarray] = field(default_factory=dict)
    tx: dict[int, tuple[float, float]] = field(default_factory=dict)
    power_files: dict[int, Path] = field(default_factory=dict)
    gps_files: dict[int, Path] = field(default_factory=dict)

    @property
    def rx_file(self) -> Path:
        return self.root / CHALLENGE_RX_FILE

    def index_of(self, number: int) -> int:
        """The 1-based sample index the reader gives a file number (its rank among all of them)."""
        return sorted(self.file_numbers).index(number) + 1

    def rewrite_cell(self, part: str, row: int, column: str, value: str) -> None:
        """Change one cell of a part's CSV (row is 0-based over data rows)."""
        path = self.csvs[part]
        with path.open(newline="") as f:
            rows = list(csv.reader(f))
        rows[row + 1][rows[0].index(column)] = value
        with path.open("w", newline="") as f:
            csv.writer(f).writerows(rows)

    def rows(self, part: str) -> list[dict[str, str]]:
        with self.csvs[part].open(newline="") as f:
            return list(csv.DictReader(f))


def write_challenge_scene(
    root: Path,
    name: str = "scenario43",
    sizes: tuple[int, int, int] = (5, 2, 2),
    seed: int = 0,
) -> WrittenChallenge:
    """Write a challenge-layout scene with `sizes` rows in the train, val and test CSVs."""
    rng = np.random.default_rng(seed)
    for sub in ("unit1/mmWave_data", "unit1/GPS_data", "unit2/GPS_data"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / CHALLENGE_RX_FILE).write_text(f"{RX[0]!r}\n{RX[1]!r}\n")
    scene = WrittenChallenge(root=root, name=name)
    total = sum(sizes)
    numbers = [CHALLENGE_FILE_STEP * k + 1 for k in range(total)]
    shuffled = [numbers[i] for i in rng.permutation(total)]
    start = 0
    for part, size in zip(CHALLENGE_PARTS, sizes, strict=True):
        rows = []
        for row, n in enumerate(shuffled[start : start + size], start=1):
            powers = rng.uniform(0.01, 0.5, N_BEAMS)
            power_file = root / f"unit1/mmWave_data/mmWave_power_{n}.txt"
            power_file.write_text("".join(f"{float(p)!r}\n" for p in powers))
            tx = (RX[0] + 2e-4 + 1e-5 * n, RX[1] + 3e-4 - 2e-5 * n)
            gps_file = root / f"unit2/GPS_data/gps_location_{n}.txt"
            gps_file.write_text(f"{tx[0]!r}\n{tx[1]!r}\n")
            rows.append(
                [
                    str(row),
                    f"./unit2/GPS_data/{gps_file.name}",
                    f"./unit1/mmWave_data/{power_file.name}",
                    str(int(np.argmax(powers)) + 1),
                ]
            )
            scene.file_numbers.append(n)
            scene.part_of[n] = part
            scene.powers[n], scene.tx[n] = powers, tx
            scene.power_files[n], scene.gps_files[n] = power_file, gps_file
        path = root / f"{name}_dev_{part}.csv"
        with path.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(CHALLENGE_HEADER)
            writer.writerows(rows)
        scene.csvs[part] = path
        start += size
    return scene


def grid_samples(drives: dict[str, int], frames_per_drive: int = 10) -> list[Sample]:
    """Labelled samples of several scenarios (scenario -> number of drives), no files involved."""
    rng = np.random.default_rng(7)
    out: list[Sample] = []
    for scenario, n_drives in drives.items():
        index = 1
        for drive in range(1, n_drives + 1):
            for _ in range(frames_per_drive):
                out.append(
                    Sample(
                        rx_lat=RX[0],
                        rx_lon=RX[1],
                        tx_lat=RX[0] + float(rng.uniform(1e-4, 1e-3)),
                        tx_lon=RX[1] + float(rng.uniform(1e-4, 1e-3)),
                        rssi_db=float(rng.normal(-12.0, 2.0)),
                        scenario=scenario,
                        index=index,
                        seq_index=drive,
                    )
                )
                index += 1
    return out
