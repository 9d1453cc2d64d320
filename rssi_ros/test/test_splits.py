"""Splits: deterministic, partition the samples, keep drives apart, refuse foreign data."""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import pytest
from helpers.official_scene import grid_samples

from rssi_ros.data.readers import all_samples, read_datasets
from rssi_ros.data.splits import PARTS, Split, SplitMismatchError, make_split


def _parts_of_drives(samples, split):
    where = defaultdict(set)
    for part in PARTS:
        for i in split.part(part):
            where[(samples[i].scenario, samples[i].seq_index)].add(part)
    return where


def test_frame_split_sizes_are_the_fractions_rounded():
    samples = grid_samples({"a": 7, "b": 5}, frames_per_drive=11)  # 132 samples
    split = make_split(samples, "frame", seed=3)
    assert split.sizes == {"train": 106, "val": 13, "test": 13}  # round(13.2) = 13 each
    assert np.array_equal(np.sort(np.concatenate([split.train, split.val, split.test])), np.arange(132))
    assert all(np.all(np.diff(split.part(p)) > 0) for p in PARTS)
    odd = make_split(samples, "frame", seed=3, fractions=(0.5, 0.25, 0.25))
    assert odd.sizes == {"train": 66, "val": 33, "test": 33}


def test_same_seed_same_split_other_seed_other_split():
    samples = grid_samples({"a": 10, "b": 12})
    for protocol in ("frame", "drive"):
        one, two = make_split(samples, protocol, 0), make_split(samples, protocol, 0)
        other = make_split(samples, protocol, 1)
        assert all(np.array_equal(one.part(p), two.part(p)) for p in PARTS)
        assert not np.array_equal(one.test, other.test)


def test_drive_split_keeps_every_drive_in_one_part():
    samples = grid_samples({"a": 20, "b": 10, "c": 3, "d": 2, "e": 1}, frames_per_drive=4)
    split = make_split(samples, "drive", seed=5)
    where = _parts_of_drives(samples, split)
    assert all(len(parts) == 1 for parts in where.values())
    held = split.info["held_out_drives"]
    # round(10% of the drives), at least one test drive and (with 3+ drives) one val drive.
    counts = {s: (len(h["test"]), len(h["val"])) for s, h in held.items()}
    assert counts == {"a": (2, 2), "b": (1, 1), "c": (1, 1), "d": (1, 0), "e": (0, 0)}
    for scenario, h in held.items():
        assert {d for (s, d), p in where.items() if s == scenario and p == {"test"}} == set(h["test"])


def test_drive_split_of_a_scenario_does_not_depend_on_the_others():
    alone = grid_samples({"a": 20})
    together = grid_samples({"z": 9, "a": 20})
    held_alone = make_split(alone, "drive", 2).info["held_out_drives"]["a"]
    held_together = make_split(together, "drive", 2).info["held_out_drives"]["a"]
    assert held_alone == held_together


def test_json_round_trip_and_refusal_of_other_data(tmp_path):
    samples = grid_samples({"a": 10, "b": 4})
    split = make_split(samples, "drive", seed=9)
    path = tmp_path / "runs" / "split.json"
    text = split.to_json(path)
    assert json.loads(path.read_text()) == json.loads(text)
    for source in (path, text):
        loaded = Split.from_json(source, samples)
        assert (loaded.protocol, loaded.seed, loaded.fractions, loaded.keys) == (
            "drive",
            9,
            (0.8, 0.1, 0.1),
            split.keys,
        )
        assert all(np.array_equal(loaded.part(p), split.part(p)) for p in PARTS)
    # The same samples in another order: the split follows the keys.
    shuffled = list(reversed(samples))
    aligned = Split.from_json(path, shuffled)
    assert sorted(shuffled[i].key for i in aligned.test) == sorted(samples[i].key for i in split.test)
    # Other data: refused with a message that says what differs.
    with pytest.raises(SplitMismatchError, match="1 keys of the split are not in the data"):
        Split.from_json(path, samples[:-1])
    with pytest.raises(SplitMismatchError):
        split.check(shuffled)
    assert split.select(samples, "val") == [samples[i] for i in split.val]


def test_bad_requests_raise_clearly(tmp_path):
    samples = grid_samples({"a": 5})
    with pytest.raises(ValueError, match="protocol"):
        make_split(samples, "random", 0)
    with pytest.raises(ValueError, match="sum to 1"):
        make_split(samples, "frame", 0, fractions=(0.8, 0.1, 0.2))
    with pytest.raises(ValueError, match="unique"):
        make_split(samples + samples[:1], "frame", 0)
    no_drives = [s.with_(seq_index=-1) for s in samples]
    with pytest.raises(ValueError, match="drive numbers"):
        make_split(no_drives, "drive", 0)
    with pytest.raises(FileNotFoundError):
        Split.from_json(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text(
        '{"format": 1, "keys": ["a:1"], "train": [0, 0], "val": [], "test": []}'
    )
    with pytest.raises(ValueError):
        Split.from_json(tmp_path / "bad.json")


@pytest.mark.shared_data
def test_real_drive_split_holds_out_whole_drives_of_every_scenario(shared_data):
    samples = all_samples(read_datasets([shared_data]))
    split = make_split(samples, "drive", seed=0)
    where = _parts_of_drives(samples, split)
    assert all(len(parts) == 1 for parts in where.values())
    assert set(split.info["held_out_drives"]) == {f"scenario{k}" for k in range(1, 10)}
    assert all(len(h["test"]) >= 1 and len(h["val"]) >= 1 for h in split.info["held_out_drives"].values())
    frame = make_split(samples, "frame", seed=0)
    assert frame.sizes == {"train": 16399, "val": 2050, "test": 2050}
