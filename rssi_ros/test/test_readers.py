"""Readers of the DeepSense layouts: exact values on scenes written here, and the real shared files."""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path

import numpy as np
import pytest
from helpers.official_scene import N_BEAMS, RX, write_challenge_scene, write_official_scene

from rssi_ros.cli import main
from rssi_ros.data.classes import ClassVocabulary
from rssi_ros.data.readers import (
    GPS_CALIBRATED,
    ReaderOptions,
    RowError,
    detect_layout,
    parse_time_stamp,
    parse_yolo_labels,
    read_dataset,
    read_datasets,
)
from rssi_ros.data.readers.files import BAD_LABEL_FILE, BAD_LABEL_LINE, BAD_TX_BOX_LINE, read_label_file
from rssi_ros.physics import mean_power_db

README_SAMPLES = {1: 2238, 2: 2610, 3: 1343, 4: 1649, 5: 2300, 6: 805, 7: 735, 8: 3556, 9: 5263}


# ---------------------------------------------------------------- small parsers


def test_time_stamp_is_seconds_of_day():
    assert parse_time_stamp("['16-45-05-799']") == pytest.approx(16 * 3600 + 45 * 60 + 5.799, abs=1e-9)
    assert parse_time_stamp("['00-00-01-5']") == pytest.approx(1.005, abs=1e-12)
    assert parse_time_stamp("16:45:05") == 16 * 3600 + 45 * 60 + 5
    assert math.isnan(parse_time_stamp(""))
    assert math.isnan(parse_time_stamp("['yesterday']"))
    assert math.isnan(parse_time_stamp("['25-00-00-000']"))


def test_yolo_labels_parse_with_transmitter_score_and_unknown_class():
    text = "2 0.5 0.6 0.2 0.1\n\n0 0.1 0.7 0.05 0.2 0.75\n42 0.3 0.3 0.1 0.1\n"
    parsed = parse_yolo_labels(text, ClassVocabulary(), tx_line=2, where="t")
    assert [b.class_name for b in parsed.boxes] == ["car", "person", "other"]
    assert [b.is_transmitter for b in parsed.boxes] == [False, True, False]
    assert (parsed.boxes[1].cx, parsed.boxes[1].cy, parsed.boxes[1].w, parsed.boxes[1].h) == (
        0.1,
        0.7,
        0.05,
        0.2,
    )
    assert parsed.boxes[1].score == 0.75 and parsed.boxes[0].score == 1.0
    assert parsed.n_unknown_classes == 1
    assert parse_yolo_labels("", ClassVocabulary(), -1, "t").boxes == []


@pytest.mark.parametrize(
    ("text", "tx_line", "reason"),
    [
        ("2 0.5 0.6 0.2\n", -1, BAD_LABEL_LINE),
        ("car 0.5 0.6 0.2 0.1\n", -1, BAD_LABEL_LINE),
        ("2 0.5 nan 0.2 0.1\n", -1, BAD_LABEL_LINE),
        ("2.5 0.5 0.6 0.2 0.1\n", -1, BAD_LABEL_LINE),
        ("2 0.5 0.6 0.2 0.1\n", 1, BAD_TX_BOX_LINE),
        ("\n2 0.5 0.6 0.2 0.1\n", 0, BAD_TX_BOX_LINE),
    ],
)
def test_bad_label_files_raise_with_reason(text, tx_line, reason):
    with pytest.raises(RowError) as err:
        parse_yolo_labels(text, ClassVocabulary(), tx_line, "t")
    assert err.value.reason == reason


# ---------------------------------------------------------------- reader (a) on written scenes


def test_official_reader_returns_exactly_what_was_written(tmp_path):
    scene = write_official_scene(tmp_path, scene_yaml="noise_db: 0.5\ncamera: {width: 960}\n")
    ds = read_dataset(tmp_path)
    assert (ds.name, ds.source, len(ds), sum(ds.skipped.values())) == ("scenario42", "official", 6, 0)
    assert ds.meta["noise_db"] == 0.5 and ds.meta["camera"] == {"width": 960}
    assert ds.meta["reader"]["masked"] == {"label_file_missing": 1}
    assert ds.meta["reader"]["unknown_classes"] == 1
    for i, s in enumerate(ds.samples):
        assert s.key == f"scenario42:{i + 1}"
        assert (s.rx_lat, s.rx_lon) == RX
        assert (s.tx_lat, s.tx_lon) == scene.tx[i]
        np.testing.assert_array_equal(s.beam_powers, scene.powers[i])
        assert s.rssi_db == 10.0 * np.log10(np.mean(scene.powers[i]))
        assert s.seq_index == scene.seq[i]
        assert s.stamp == pytest.approx(scene.stamps[i], abs=1e-9)
        assert s.image_path == scene.images[i] and s.image is None
        assert s.extras["beam_index"] == int(np.argmax(scene.powers[i])) + 1
    boxes = [s.boxes for s in ds.samples]
    assert [b.class_name for b in boxes[0]] == ["car", "person"] and boxes[0][0].is_transmitter
    assert [b.is_transmitter for b in boxes[1]] == [False, True] and boxes[1][1].score == 0.9
    assert not any(b.is_transmitter for b in boxes[2])
    assert boxes[3] == []  # detector ran, found nothing
    assert boxes[4] is None  # no label file: masked
    assert [b.class_name for b in boxes[5]] == ["car", "other"]


def test_csv_path_and_folder_read_the_same(tmp_path):
    scene = write_official_scene(tmp_path)
    assert detect_layout(tmp_path) == detect_layout(scene.csv) == "official"
    assert read_dataset(scene.csv).keys == read_dataset(tmp_path).keys


def test_options_calibrated_gps_images_bbox_dir_limit(tmp_path):
    scene = write_official_scene(tmp_path)
    cal = read_dataset(tmp_path, ReaderOptions(gps_column=GPS_CALIBRATED))
    assert [(s.tx_lat, s.tx_lon) for s in cal.samples] == scene.tx_cal
    bare = read_dataset(tmp_path, ReaderOptions(attach_images=False, bbox_dir="no/such/folder", limit=4))
    assert len(bare) == 4
    assert all(s.image_path is None and s.boxes is None for s in bare.samples)
    assert bare.meta["reader"]["masked"] == {}
    with pytest.raises(ValueError, match="gps_column"):
        ReaderOptions(gps_column="unit3_loc")


def test_calibrated_gps_falls_back_per_row(tmp_path):
    scene = write_official_scene(tmp_path)
    scene.rewrite_cell(2, "unit2_loc_cal", "")
    ds = read_dataset(tmp_path, ReaderOptions(gps_column=GPS_CALIBRATED))
    assert (ds.samples[2].tx_lat, ds.samples[2].tx_lon) == scene.tx[2]
    assert (ds.samples[1].tx_lat, ds.samples[1].tx_lon) == scene.tx_cal[1]
    assert ds.meta["reader"]["gps_fallbacks"] == 1


def test_missing_image_is_a_mask_not_a_skip(tmp_path):
    scene = write_official_scene(tmp_path)
    scene.images[1].unlink()
    ds = read_dataset(tmp_path)
    assert len(ds) == 6 and not ds.skipped
    assert ds.samples[1].image_path is None and ds.samples[1].boxes is not None
    assert ds.meta["reader"]["masked"]["image_file_missing"] == 1


def test_bad_rows_are_counted_by_reason_and_the_rest_read(tmp_path, caplog):
    scene = write_official_scene(tmp_path, n_frames=12)
    scene.power_files[0].unlink()
    scene.power_files[1].write_text("".join("0.1\n" for _ in range(N_BEAMS - 1)))
    scene.power_files[2].write_text("".join("0.1\n" for _ in range(N_BEAMS - 1)) + "-0.2\n")
    scene.power_files[3].write_text("".join("0.1\n" for _ in range(N_BEAMS - 1)) + "abc\n")
    scene.gps_files[4].write_text("nan\nnan\n")
    assert scene.label_files[6] is not None
    scene.label_files[6].write_text("2 0.5 0.6 0.2\n")
    scene.gps_files[7].unlink()
    scene.rewrite_cell(8, "unit1_tx_bbox_line", "7")
    scene.rewrite_cell(9, "unit1_pwr_60ghz", "")
    scene.rewrite_cell(10, "index", "1")  # the same index as row 0 ... which is skipped: no clash
    scene.rewrite_cell(11, "index", "6")  # clashes with row 5
    with caplog.at_level(logging.WARNING):
        ds = read_dataset(tmp_path)
    assert dict(ds.skipped) == {
        "missing_power_file": 1,
        "wrong_beam_count": 1,
        "non_positive_power": 1,
        "bad_power_file": 1,
        "bad_gps": 1,
        "missing_gps_file": 1,
        "missing_field": 1,
        "duplicate_sample": 1,
    }
    # A bad label file or transmitter line masks the boxes of rows 6 and 8; the rows are kept.
    assert [s.index for s in ds.samples] == [6, 7, 9, 1]
    assert [s.boxes is None for s in ds.samples] == [False, True, True, True]  # row 10: no label file
    assert ds.meta["reader"]["masked"] == {"bad_label_file": 1, "bad_tx_box_line": 1, "label_file_missing": 1}
    assert "skipped 8 rows" in caplog.text


def test_bad_label_files_mask_the_boxes_and_keep_the_rows(tmp_path, caplog, monkeypatch):
    scene = write_official_scene(tmp_path, n_frames=12)
    assert all(scene.label_files[i] is not None for i in (0, 1, 2, 6))
    scene.label_files[0].write_text("2 0.5 0.6 0.2 0.1\nnot a box\n")  # unparseable line
    scene.label_files[1].write_bytes(b"2 0.5 0.6 0.2 0.1\n\xff\xfe\n")  # not UTF-8
    unreadable = scene.label_files[2]
    real_read_text = Path.read_text

    def read_text(self, *args, **kwargs):
        if self == unreadable:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)
    scene.rewrite_cell(6, "unit1_tx_bbox_line", "one")  # not an integer
    with caplog.at_level(logging.WARNING):
        ds = read_dataset(tmp_path)
    assert len(ds) == 12 and not ds.skipped  # nothing lost but the boxes of four frames
    assert [i for i, s in enumerate(ds.samples) if s.boxes is None] == [0, 1, 2, 4, 6, 10]
    assert ds.meta["reader"]["masked"] == {"bad_label_file": 3, "bad_tx_box_line": 1, "label_file_missing": 2}
    for i in (0, 1, 2):  # the rest of a masked row is what was written
        assert (ds.samples[i].tx_lat, ds.samples[i].tx_lon) == scene.tx[i]
        np.testing.assert_array_equal(ds.samples[i].beam_powers, scene.powers[i])
        assert ds.samples[i].image_path == scene.images[i]
    # Logged once per kind of problem, with the count and one example, not once per file.
    masked_lines = [m for m in caplog.messages if "boxes masked (bad_label_file)" in m]
    assert len(masked_lines) == 1 and "in 3 rows" in masked_lines[0]
    assert str(scene.label_files[0]) in masked_lines[0]


def test_read_label_file_names_the_problem(tmp_path):
    path = tmp_path / "frame.txt"
    path.write_bytes(b"\x80\x81")
    with pytest.raises(RowError, match="not UTF-8") as err:
        read_label_file(path, ClassVocabulary(), -1)
    assert err.value.reason == BAD_LABEL_FILE
    with pytest.raises(RowError, match="cannot read label file") as err:
        read_label_file(tmp_path / "absent.txt", ClassVocabulary(), -1)
    assert err.value.reason == BAD_LABEL_FILE
    path.write_text("2 0.5 0.6 0.2 0.1\n")
    assert [b.class_name for b in read_label_file(path, ClassVocabulary(), 0).boxes] == ["car"]


def test_calibrated_gps_problems_fall_back_to_the_raw_fix(tmp_path, caplog):
    scene = write_official_scene(tmp_path)
    scene.gps_cal_files[1].unlink()  # named but absent
    scene.gps_cal_files[3].write_text("nan\nnan\n")  # unusable
    scene.rewrite_cell(4, "unit2_loc_cal", "")  # not named
    scene.gps_cal_files[5].unlink()
    scene.gps_files[5].unlink()  # no fix at all: a skip, not a fallback
    raw = read_dataset(tmp_path)
    assert len(raw) == 5 and dict(raw.skipped) == {"missing_gps_file": 1}
    assert raw.meta["reader"]["gps_fallbacks"] == 0
    with caplog.at_level(logging.WARNING):
        cal = read_dataset(tmp_path, ReaderOptions(gps_column=GPS_CALIBRATED))
    assert dict(cal.skipped) == {"missing_gps_file": 1}
    assert [(s.tx_lat, s.tx_lon) for s in cal.samples] == [
        scene.tx_cal[0],
        scene.tx[1],
        scene.tx_cal[2],
        scene.tx[3],
        scene.tx[4],
    ]
    assert cal.meta["reader"]["gps_fallbacks"] == 3
    assert cal.meta["reader"]["gps_fallback_reasons"] == {
        "missing_gps_file": 1,
        "bad_gps": 1,
        "no_calibrated_fix": 1,
    }
    assert "gps fallback (missing_gps_file) in 1 rows" in caplog.text


def test_unknown_csv_and_missing_path_give_clear_errors(tmp_path):
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="unknown header"):
        read_dataset(tmp_path / "other.csv")
    with pytest.raises(ValueError, match="no scenario CSV"):
        read_dataset(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_dataset(tmp_path / "nowhere")
    (tmp_path / "scenario1.csv").write_text("index,unit1_pwr_60ghz\n")
    with pytest.raises(ValueError, match="unknown header"):
        read_dataset(tmp_path / "scenario1.csv")


# ---------------------------------------------------------------- reader (b) challenge, written here


def test_challenge_reader_returns_exactly_what_was_written(tmp_path):
    scene = write_challenge_scene(tmp_path)
    assert detect_layout(tmp_path) == "challenge"
    ds = read_dataset(tmp_path)
    assert (ds.name, ds.source, len(ds), dict(ds.skipped)) == ("scenario43", "challenge", 9, {})
    assert [s.index for s in ds.samples] == list(range(1, 10))  # ordered by index, not by part
    for s in ds.samples:
        n = s.extras["file_number"]
        assert s.index == scene.index_of(n) and s.key == f"scenario43:{s.index}"
        assert s.extras["challenge_part"] == scene.part_of[n]
        assert (s.rx_lat, s.rx_lon) == RX and (s.tx_lat, s.tx_lon) == scene.tx[n]
        np.testing.assert_array_equal(s.beam_powers, scene.powers[n])
        assert s.rssi_db == float(mean_power_db(scene.powers[n]))
        assert s.extras["beam_index"] == int(np.argmax(scene.powers[n])) + 1
        assert s.seq_index == -1 and math.isnan(s.stamp) and s.image_path is None and s.boxes is None
    # One part alone keeps the keys of the whole folder.
    val = read_dataset(scene.csvs["val"])
    by_key = {s.key: s for s in ds.samples}
    assert len(val) == 2 and all(by_key[s.key].rssi_db == s.rssi_db for s in val.samples)
    assert {s.extras["challenge_part"] for s in val.samples} == {"val"}


def test_challenge_without_a_usable_basestation_fix_is_an_error(tmp_path):
    scene = write_challenge_scene(tmp_path)
    scene.rx_file.write_text("nan\nnan\n")
    with pytest.raises(ValueError, match="basestation fix is unusable"):
        read_dataset(tmp_path)
    scene.rx_file.unlink()
    with pytest.raises(ValueError, match=r"needs the basestation fix .*gps_location\.txt"):
        read_dataset(tmp_path)
    with pytest.raises(ValueError, match="basestation fix"):
        read_dataset(scene.csvs["train"])


def test_challenge_bad_rows_are_counted_by_reason(tmp_path, caplog):
    scene = write_challenge_scene(tmp_path)
    train = [int(r["unit1_pwr_1"].rsplit("_", 1)[1].split(".")[0]) for r in scene.rows("train")]
    scene.power_files[train[0]].unlink()
    scene.power_files[train[1]].write_text("0.1\n" * (N_BEAMS - 1))
    scene.gps_files[train[2]].write_text("0\n0\n")  # (0, 0): no fix
    scene.rewrite_cell("train", 3, "unit1_pwr_1", "")
    scene.rewrite_cell("val", 0, "beam_index_1", "two")
    test_rows = scene.rows("test")
    scene.rewrite_cell("test", 1, "unit1_pwr_1", test_rows[0]["unit1_pwr_1"])  # the same sample twice
    with caplog.at_level(logging.WARNING):
        ds = read_dataset(tmp_path)
    assert dict(ds.skipped) == {
        "missing_power_file": 1,
        "wrong_beam_count": 1,
        "bad_gps": 1,
        "missing_field": 1,
        "bad_index": 1,
        "duplicate_sample": 1,
    }
    assert len(ds) == 3 and "skipped 6 rows" in caplog.text


def test_challenge_has_no_calibrated_fix_so_every_sample_falls_back(tmp_path, caplog):
    scene = write_challenge_scene(tmp_path, sizes=(2, 1, 1))
    raw = read_dataset(tmp_path)
    assert raw.meta["reader"]["gps_fallbacks"] == 0 and raw.meta["reader"]["gps_fallback_reasons"] == {}
    with caplog.at_level(logging.WARNING):
        cal = read_dataset(tmp_path, ReaderOptions(gps_column=GPS_CALIBRATED))
    assert [(s.tx_lat, s.tx_lon) for s in cal.samples] == [(s.tx_lat, s.tx_lon) for s in raw.samples]
    assert [(s.tx_lat, s.tx_lon) for s in cal.samples] == [scene.tx[n] for n in sorted(scene.file_numbers)]
    assert cal.meta["reader"]["gps_fallbacks"] == 4
    assert cal.meta["reader"]["gps_fallback_reasons"] == {"no_calibrated_fix": 4}
    assert "no unit2_loc_cal" in caplog.text


# ---------------------------------------------------------------- reader (c) npz, written here


def _write_npz(path, n=5, **overrides):
    rng = np.random.default_rng(1)
    arrays = {
        "unit1_pwr_60ghz": rng.uniform(0.01, 0.3, (n, N_BEAMS)),
        "unit1_loc": np.tile(RX, (n, 1)),
        "unit2_loc": np.tile((RX[0] + 1e-4, RX[1] + 1e-4), (n, 1)) + rng.normal(0, 1e-5, (n, 2)),
        "unit2_loc_cal": np.tile((RX[0] + 2e-4, RX[1] + 2e-4), (n, 1)),
        "seq_index": np.array([1, 1, 2, 2, 3])[:n],
        "index": np.arange(1, n + 1) * 2,
    }
    arrays.update(overrides)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return arrays


def test_npz_reader_values_and_bad_rows(tmp_path):
    a = _write_npz(tmp_path / "scenario77.npz")
    a["unit1_pwr_60ghz"][1, 3] = 0.0
    a["unit2_loc"][3] = (np.nan, RX[1])
    np.savez(tmp_path / "scenario77.npz", **a)
    ds = read_dataset(tmp_path / "scenario77.npz")
    assert (ds.name, ds.source, dict(ds.skipped)) == (
        "scenario77",
        "npz",
        {"non_positive_power": 1, "bad_gps": 1},
    )
    assert [s.key for s in ds.samples] == ["scenario77:2", "scenario77:6", "scenario77:10"]
    assert [s.seq_index for s in ds.samples] == [1, 2, 3]
    assert ds.samples[1].rssi_db == pytest.approx(float(mean_power_db(a["unit1_pwr_60ghz"][2])), abs=1e-12)
    assert all(s.image_path is None and s.boxes is None for s in ds.samples)
    cal = read_dataset(tmp_path / "scenario77.npz", ReaderOptions(gps_column=GPS_CALIBRATED))
    assert cal.samples[0].tx_lat == a["unit2_loc_cal"][0, 0]


def test_npz_reader_refuses_inconsistent_files(tmp_path):
    _write_npz(tmp_path / "scenario1.npz", unit2_loc=None)
    with pytest.raises(ValueError, match="lacks the arrays"):
        read_dataset(tmp_path / "scenario1.npz")
    _write_npz(tmp_path / "scenario2.npz", unit1_pwr_60ghz=np.ones((5, 32)))
    with pytest.raises(ValueError, match="expected"):
        read_dataset(tmp_path / "scenario2.npz")


def test_corrupt_npz_is_a_value_error_naming_the_file(tmp_path):
    bad = tmp_path / "scenario3.npz"
    bad.write_bytes(b"this is not a zip archive")
    with pytest.raises(ValueError, match=r"scenario3\.npz is not a readable \.npz file"):
        read_dataset(bad)
    bad.write_bytes(b"PK\x03\x04 a zip header and nothing else")
    with pytest.raises(ValueError, match=r"scenario3\.npz is not a readable \.npz file: BadZipFile"):
        read_dataset(bad)
    _write_npz(tmp_path / "scenario4.npz")
    truncated = tmp_path / "scenario4.npz"
    truncated.write_bytes(truncated.read_bytes()[:-200])
    with pytest.raises(ValueError, match=r"scenario4\.npz is not a readable \.npz file"):
        read_dataset(truncated)
    single = tmp_path / "scenario5.npz"
    with single.open("wb") as f:
        np.save(f, np.ones((5, N_BEAMS)))
    with pytest.raises(ValueError, match="single array"):
        read_dataset(single)
    pickled = tmp_path / "scenario6.npz"
    _write_npz(pickled, index=np.array([{"a": 1}] * 5, dtype=object))
    with pytest.raises(ValueError, match=r"scenario6\.npz is not a readable \.npz file"):
        read_dataset(pickled)


def test_data_stats_reports_a_corrupt_npz_without_a_traceback(tmp_path, caplog):
    bad = tmp_path / "scenario3.npz"
    bad.write_bytes(b"PK\x03\x04 truncated")
    with caplog.at_level(logging.ERROR):
        assert main(["data", "stats", str(bad), "--json", str(tmp_path / "s.json")]) == 2
    assert "cannot read the data" in caplog.text and "scenario3.npz" in caplog.text
    assert not (tmp_path / "s.json").exists()


def test_folder_of_npz_expands_and_names_must_be_unique(tmp_path):
    for n in (10, 2):
        _write_npz(tmp_path / f"scenario{n}.npz")
    assert [d.name for d in read_datasets([tmp_path])] == ["scenario2", "scenario10"]
    with pytest.raises(ValueError, match="read_datasets"):
        read_dataset(tmp_path)
    with pytest.raises(ValueError, match="more than once"):
        read_datasets([tmp_path / "scenario2.npz", tmp_path / "scenario2.npz"])
    assert len(read_datasets([tmp_path / "scenario2.npz"] * 2, unique_names=False)) == 2


# ---------------------------------------------------------------- the real shared files


@pytest.mark.shared_data
def test_real_npz_counts_match_the_readme(shared_data):
    datasets = read_datasets([shared_data])
    assert {d.name: len(d) for d in datasets} == {f"scenario{k}": v for k, v in README_SAMPLES.items()}
    assert all(not d.skipped for d in datasets)
    s9 = datasets[8]
    assert len({s.seq_index for s in s9.samples}) == 120
    assert s9.meta["reader"]["has_calibrated_gps"]


@pytest.mark.shared_data
def test_real_first_row_rssi_is_mean_power_db(shared_data, shared_challenge):
    raw = np.load(shared_data / "scenario9.npz")
    ds = read_dataset(shared_data / "scenario9.npz")
    powers = raw["unit1_pwr_60ghz"][0]
    assert powers.shape == (64,)
    expected = 10.0 * np.log10(np.mean(powers))
    assert ds.samples[0].rssi_db == pytest.approx(expected, abs=1e-12)
    assert ds.samples[0].rssi_db == pytest.approx(float(mean_power_db(powers)), abs=1e-12)
    # ... and from a real 64-line power file of the challenge layout.
    folder = shared_challenge
    with (folder / "scenario5_dev_train.csv").open() as f:
        first = next(csv.DictReader(f))
    values = np.loadtxt(folder / first["unit1_pwr_1"])
    sample = next(s for s in read_dataset(folder / "scenario5_dev_train.csv").samples if s.extras["row"] == 1)
    assert values.shape == (64,)
    assert sample.rssi_db == pytest.approx(10.0 * np.log10(values.mean()), abs=1e-12)


@pytest.mark.shared_data
def test_real_official_csv_header_parses_and_missing_files_are_skips(shared_official_csv):
    path = shared_official_csv
    assert detect_layout(path) == "official"
    with path.open() as f:
        n_rows = sum(1 for _ in f) - 1
    ds = read_dataset(path)
    assert (ds.name, len(ds)) == ("scenario9", 0)
    assert dict(ds.skipped) == {"missing_power_file": n_rows}


@pytest.mark.shared_data
def test_real_challenge_equals_npz_sample_by_sample(shared_data, shared_challenge):
    folder = shared_challenge
    challenge = read_dataset(folder)
    npz = read_dataset(shared_data / "scenario5.npz")
    assert (challenge.source, challenge.name, len(challenge), len(npz)) == (
        "challenge",
        "scenario5",
        2300,
        2300,
    )
    assert not challenge.skipped
    for c, n in zip(challenge.samples, npz.samples, strict=True):
        assert c.key == n.key
        assert (c.rx_lat, c.rx_lon, c.tx_lat, c.tx_lon) == (n.rx_lat, n.rx_lon, n.tx_lat, n.tx_lon)
        np.testing.assert_array_equal(c.beam_powers, n.beam_powers)
        assert c.rssi_db == pytest.approx(n.rssi_db, abs=1e-12)
        assert c.seq_index == -1 and math.isnan(c.stamp)
    parts = {s.extras["challenge_part"] for s in challenge.samples}
    assert parts == {"train", "val", "test"}
    # One part alone gets the same keys as in the whole folder.
    test_part = read_dataset(folder / "scenario5_dev_test.csv")
    by_key = {s.key: s for s in npz.samples}
    assert len(test_part) == 317
    assert all(
        by_key[s.key].tx_lat == s.tx_lat and by_key[s.key].rssi_db == s.rssi_db for s in test_part.samples
    )


# ---------------------------------------------------------------- a generated scene through reader (a)


@pytest.mark.slow
def test_generated_scene_parses_back_through_reader_a(tmp_path):
    from rssi_ros.data.camera import CameraModel
    from rssi_ros.data.synth import generate_scene

    csv_path = generate_scene(tmp_path / "scene", frames=40, seed=2)
    ds = read_dataset(tmp_path / "scene")
    assert ds.path == csv_path and ds.source == "official" and not ds.skipped
    assert ds.meta["reader"]["masked"] == {} and ds.meta["reader"]["unknown_classes"] == 0
    CameraModel.from_dict(ds.meta["camera"])  # the scene's camera survives the trip
    assert "irreducible_noise_db" in ds.meta
    with (tmp_path / "scene" / "synth_truth.csv").open() as f:
        truth = {int(r["index"]): r for r in csv.DictReader(f)}
    assert [s.index for s in ds.samples] == sorted(truth)
    n_tx = 0
    for s in ds.samples:
        t = truth[s.index]
        assert s.rssi_db == pytest.approx(float(t["rssi_db"]), abs=1e-5)
        assert s.seq_index == int(t["seq_index"]) and s.image_path is not None and s.image_path.is_file()
        assert len(s.boxes) == int(t["n_labels"])
        flagged = [b for b in s.boxes if b.is_transmitter]
        assert len(flagged) == int(t["tx_labelled"])
        n_tx += len(flagged)
        lines = (
            (tmp_path / "scene/unit1/camera_data_bbox" / f"{s.image_path.stem}.txt").read_text().split("\n")
        )
        values = [[float(v) for v in line.split()[1:5]] for line in lines if line.strip()]
        assert [[b.cx, b.cy, b.w, b.h] for b in s.boxes] == values
    assert n_tx > 0, "the scene should show the transmitter in some frames"
