"""Parsers of the small text files of the DeepSense layouts (power, GPS, time stamps, YOLO labels).

Every parser raises `RowError` with a short, stable reason string when its input is bad, so the
readers can count skipped rows by reason (`Dataset.skipped`) instead of crashing or dropping rows
silently. The reasons are part of the public surface: `data stats` prints them and tests check them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from rssi_ros.data.classes import ClassVocabulary
from rssi_ros.data.sample import Box

# Reasons of a `RowError`: a row is skipped under its reason (keys of `Dataset.skipped`), except
# that a bad label file only masks the row's boxes (see the mask reasons below).
MISSING_FIELD = "missing_field"
MISSING_POWER_FILE = "missing_power_file"
BAD_POWER_FILE = "bad_power_file"
WRONG_BEAM_COUNT = "wrong_beam_count"
NON_POSITIVE_POWER = "non_positive_power"
MISSING_GPS_FILE = "missing_gps_file"
BAD_GPS = "bad_gps"
BAD_INDEX = "bad_index"
BAD_LABEL_LINE = "bad_label_line"
BAD_TX_BOX_LINE = "bad_tx_box_line"
DUPLICATE_SAMPLE = "duplicate_sample"

# Why a modality of a KEPT row is masked (keys of `Dataset.meta["reader"]["masked"]`): the row's
# label (power) and fixes are fine, so losing the row for its image or boxes would lose data.
IMAGE_FILE_MISSING = "image_file_missing"
LABEL_FILE_MISSING = "label_file_missing"
# The label file is unreadable, not UTF-8 text, or has a line that is not a YOLO box.
BAD_LABEL_FILE = "bad_label_file"
# (BAD_TX_BOX_LINE, above, masks the boxes too: the transmitter's line cannot be trusted.)

# Why the calibrated transmitter fix of a row was not used (keys of
# `meta["reader"]["gps_fallback_reasons"]`); the raw fix is used instead.
NO_CALIBRATED_FIX = "no_calibrated_fix"

# Fields of a YOLO label line: class cx cy w h, optionally a confidence score (detector output).
YOLO_FIELDS = 5
YOLO_FIELDS_WITH_SCORE = 6
# `unit1_tx_bbox_line` value that says the transmitter is not in view.
TX_NOT_IN_VIEW = -1

_STAMP = re.compile(r"(\d{1,2})[-:](\d{1,2})[-:](\d{1,2})(?:[-:.](\d+))?")
_FLOAT = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)"
_FLOATS = re.compile(_FLOAT, re.IGNORECASE)


class RowError(Exception):
    """A bad row: `reason` is the counter key, the message says what and where."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def resolve(root: Path, cell: str) -> Path:
    """Path named by a CSV cell; relative paths (`./unit1/...`) are relative to the CSV's folder."""
    p = Path(cell.strip())
    return p if p.is_absolute() else root / p


def read_powers(path: Path, n_beams: int) -> NDArray[np.float64]:
    """Linear powers of the beams, one per line, in official beam order."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise RowError(MISSING_POWER_FILE, f"power file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RowError(BAD_POWER_FILE, f"cannot read power file {path}: {exc}") from None
    try:
        powers = np.array([float(tok) for tok in text.split()], dtype=np.float64)
    except ValueError as exc:
        raise RowError(BAD_POWER_FILE, f"power file {path} is not numeric: {exc}") from None
    return check_powers(powers, n_beams, str(path))


def check_powers(powers: NDArray[np.float64], n_beams: int, where: str) -> NDArray[np.float64]:
    """Exactly `n_beams` finite, positive linear powers (a zero or negative reading is corrupt data)."""
    if powers.shape != (n_beams,):
        raise RowError(WRONG_BEAM_COUNT, f"{where}: {powers.size} beam powers, expected {n_beams}")
    if not np.all(np.isfinite(powers) & (powers > 0)):
        raise RowError(NON_POSITIVE_POWER, f"{where}: beam powers must be finite and positive")
    return powers


def check_latlon(lat: float, lon: float, where: str) -> tuple[float, float]:
    """A usable WGS84 fix; (0, 0) is how GPS receivers report 'no fix' and is rejected too."""
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise RowError(BAD_GPS, f"{where}: GPS fix is not finite ({lat}, {lon})")
    if abs(lat) > 90.0 or abs(lon) > 180.0:
        raise RowError(BAD_GPS, f"{where}: GPS fix out of range ({lat}, {lon})")
    if lat == 0.0 and lon == 0.0:
        raise RowError(BAD_GPS, f"{where}: GPS fix is (0, 0), i.e. no fix")
    return lat, lon


def parse_latlon_text(text: str, where: str) -> tuple[float, float]:
    """Latitude and longitude from a GPS file's text or an inline cell (`[lat, lon]`, `lat lon`)."""
    values = _FLOATS.findall(text)
    if len(values) < 2:
        raise RowError(BAD_GPS, f"{where}: expected latitude and longitude, got {text.strip()[:60]!r}")
    return check_latlon(float(values[0]), float(values[1]), where)


def read_latlon(root: Path, cell: str) -> tuple[float, float]:
    """A GPS fix named by a CSV cell: a file (2 lines, latitude then longitude) or inline numbers."""
    cell = cell.strip()
    if not cell:
        raise RowError(MISSING_FIELD, "empty GPS cell")
    if not cell.lower().endswith(".txt"):
        return parse_latlon_text(cell, "inline GPS cell")
    path = resolve(root, cell)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise RowError(MISSING_GPS_FILE, f"GPS file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RowError(BAD_GPS, f"cannot read GPS file {path}: {exc}") from None
    return parse_latlon_text(text, str(path))


def parse_time_stamp(cell: str) -> float:
    """`['16-45-05-799']` (hours-minutes-seconds-milliseconds, UTC) -> seconds of the day; NaN if absent.

    The official CSVs store the stamp as a Python list literal of one string; the last field is
    milliseconds. Anything unparsable gives NaN (the stamp is informative, never required).
    """
    m = _STAMP.search(cell or "")
    if not m:
        return math.nan
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3))
    ms = int(m.group(4)) if m.group(4) else 0
    if h > 23 or mi > 59 or s > 60:
        return math.nan
    return h * 3600.0 + mi * 60.0 + s + ms / 1000.0


def parse_int(cell: str | None, default: int, reason: str = BAD_INDEX) -> int:
    """An integer cell (`12`, `12.0`); empty gives `default`."""
    if cell is None or not cell.strip():
        return default
    try:
        value = float(cell)
    except ValueError:
        raise RowError(reason, f"not an integer: {cell!r}") from None
    if not value.is_integer():
        raise RowError(reason, f"not an integer: {cell!r}")
    return int(value)


@dataclass(frozen=True)
class LabelFile:
    """Boxes of one YOLO label file plus how many class ids the vocabulary did not know."""

    boxes: list[Box]
    n_unknown_classes: int


def parse_yolo_labels(text: str, vocabulary: ClassVocabulary, tx_line: int, where: str) -> LabelFile:
    """`class cx cy w h [score]` per line, normalised; line `tx_line` (0-based) is the transmitter.

    Line numbers count every line of the file, so `tx_line` stays valid whatever the box order.
    A bad line makes the whole file unusable (raises), because silently dropping a box could drop
    the transmitter or a blocker and change what the model is told about the scene.
    """
    lines = text.splitlines()
    if tx_line != TX_NOT_IN_VIEW and not 0 <= tx_line < len(lines):
        raise RowError(BAD_TX_BOX_LINE, f"{where}: transmitter line {tx_line} but the file has {len(lines)}")
    boxes: list[Box] = []
    unknown = 0
    for i, line in enumerate(lines):
        fields = line.split()
        if not fields:
            if i == tx_line:
                raise RowError(BAD_TX_BOX_LINE, f"{where}: transmitter line {tx_line} is blank")
            continue
        if len(fields) not in (YOLO_FIELDS, YOLO_FIELDS_WITH_SCORE):
            raise RowError(BAD_LABEL_LINE, f"{where}:{i + 1}: expected 5 or 6 fields, got {line!r}")
        try:
            class_id = parse_int(fields[0], -1, BAD_LABEL_LINE)
            values = [float(v) for v in fields[1:]]
        except (ValueError, RowError):
            raise RowError(BAD_LABEL_LINE, f"{where}:{i + 1}: not numeric: {line!r}") from None
        if not all(math.isfinite(v) for v in values) or class_id < 0:
            raise RowError(BAD_LABEL_LINE, f"{where}:{i + 1}: invalid values: {line!r}")
        name, known = vocabulary.from_yolo_id(class_id)
        unknown += not known
        score = values[4] if len(values) == YOLO_FIELDS_WITH_SCORE - 1 else 1.0
        boxes.append(
            Box(name, values[0], values[1], values[2], values[3], score, is_transmitter=i == tx_line)
        )
    return LabelFile(boxes, unknown)


def read_label_file(path: Path, vocabulary: ClassVocabulary, tx_line: int) -> LabelFile:
    """Read and parse one YOLO label file; every problem (unreadable, not UTF-8, bad line) is a `RowError`.

    The caller decides what a bad file means (the official reader masks the row's boxes).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RowError(BAD_LABEL_FILE, f"label file {path} is not UTF-8 text: {exc}") from None
    except OSError as exc:
        raise RowError(BAD_LABEL_FILE, f"cannot read label file {path}: {exc}") from None
    return parse_yolo_labels(text, vocabulary, tx_line, str(path))
