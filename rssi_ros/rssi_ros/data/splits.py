"""Deterministic, seeded train/val/test splits, saved as JSON with every run.

Two protocols, and every accuracy report prints both:
- "frame": the paper's random split of frames, 80/10/10 over the pooled samples. It leaks: frames
  of one drive are 0.1-0.2 s apart, so a test frame has near copies in training.
- "drive": holds out whole drives. Per scenario, ~10% of its `seq_index` groups go to test and
  ~10% to val (at least one each when the scenario has three drives or more), so no drive is in
  two parts and every scenario is tested.

The frame protocol draws one permutation from `numpy.random.default_rng(seed)`; the first 80% is
train, the next 10% val, the last 10% test. The drive protocol draws each scenario's drive order
from a generator seeded by (seed, CRC-32 of the scenario name), so adding a scenario does not
reshuffle the others. A saved split records the sample keys and refuses to load against data
whose keys differ.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from rssi_ros.data.sample import Sample

log = logging.getLogger(__name__)

FRAME = "frame"
DRIVE = "drive"
PROTOCOLS = (FRAME, DRIVE)
PARTS = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
FORMAT_VERSION = 1
# Tolerance of the check that the fractions sum to one.
_FRACTION_TOLERANCE = 1e-6


class SplitMismatchError(ValueError):
    """A saved split does not belong to the data it is applied to."""


@dataclass(frozen=True, eq=False)
class Split:
    """Indices into a sample list for train/val/test, with what is needed to check and reproduce them."""

    protocol: str
    seed: int
    fractions: tuple[float, float, float]
    keys: tuple[str, ...]
    train: NDArray[np.int64]
    val: NDArray[np.int64]
    test: NDArray[np.int64]
    info: dict = field(default_factory=dict)

    def part(self, name: str) -> NDArray[np.int64]:
        if name not in PARTS:
            raise ValueError(f"split part must be one of {PARTS}, got {name!r}")
        return getattr(self, name)

    def select(self, samples: Sequence[Sample], name: str) -> list[Sample]:
        """The samples of one part (after checking that the split belongs to them)."""
        self.check(samples)
        return [samples[i] for i in self.part(name)]

    @property
    def sizes(self) -> dict[str, int]:
        return {p: int(self.part(p).size) for p in PARTS}

    def check(self, samples: Sequence[Sample]) -> None:
        """Raise `SplitMismatchError` unless `samples` carry exactly this split's keys in this order."""
        keys = [s.key for s in samples]
        if tuple(keys) == self.keys:
            return
        raise SplitMismatchError(_mismatch_message(self.keys, keys))

    def aligned_to(self, samples: Sequence[Sample]) -> Split:
        """This split re-indexed for the same samples in another order; refuses other samples."""
        keys = [s.key for s in samples]
        if tuple(keys) == self.keys:
            return self
        if sorted(keys) != sorted(self.keys):
            raise SplitMismatchError(_mismatch_message(self.keys, keys))
        where = {k: i for i, k in enumerate(keys)}

        def remap(idx: NDArray[np.int64]) -> NDArray[np.int64]:
            return np.sort(np.array([where[self.keys[i]] for i in idx], dtype=np.int64))

        log.info("split re-indexed: the same %d samples arrived in another order", len(keys))
        return Split(
            self.protocol,
            self.seed,
            self.fractions,
            tuple(keys),
            remap(self.train),
            remap(self.val),
            remap(self.test),
            dict(self.info),
        )

    def to_dict(self) -> dict:
        return {
            "format": FORMAT_VERSION,
            "protocol": self.protocol,
            "seed": self.seed,
            "fractions": list(self.fractions),
            "sizes": self.sizes,
            "info": self.info,
            "keys": list(self.keys),
            **{p: self.part(p).tolist() for p in PARTS},
        }

    def to_json(self, path: str | Path | None = None) -> str:
        """The split as JSON text; also written (atomically) to `path` when given."""
        text = json.dumps(self.to_dict(), indent=1)
        if path is not None:
            out = Path(path)
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_suffix(out.suffix + ".tmp")
            tmp.write_text(text)
            tmp.replace(out)
        return text

    @classmethod
    def from_dict(cls, d: dict) -> Split:
        if d.get("format") != FORMAT_VERSION:
            raise ValueError(f"unsupported split format {d.get('format')!r} (expected {FORMAT_VERSION})")
        keys = tuple(str(k) for k in d["keys"])
        parts = [np.asarray(d[p], dtype=np.int64) for p in PARTS]
        _check_partition(parts, len(keys))
        fr = tuple(float(x) for x in d["fractions"])
        return cls(str(d["protocol"]), int(d["seed"]), fr, keys, *parts, info=dict(d.get("info", {})))  # type: ignore[arg-type]

    @classmethod
    def from_json(cls, source: str | Path, samples: Sequence[Sample] | None = None) -> Split:
        """Load from a file path or JSON text; with `samples`, verify (and align) against them."""
        text = source if isinstance(source, str) and source.lstrip().startswith("{") else None
        if text is None:
            path = Path(source)
            if not path.is_file():
                raise FileNotFoundError(f"split file {path} does not exist")
            text = path.read_text()
        try:
            split = cls.from_dict(json.loads(text))
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a split file ({source if not text else 'JSON text'}): {exc}") from exc
        return split.aligned_to(samples) if samples is not None else split


def _mismatch_message(expected: Sequence[str], got: Sequence[str]) -> str:
    missing = [k for k in expected if k not in set(got)]
    extra = [k for k in got if k not in set(expected)]
    return (
        f"the split was made for {len(expected)} samples but the data has {len(got)}; "
        f"{len(missing)} keys of the split are not in the data (e.g. {missing[:3]}), "
        f"{len(extra)} keys of the data are not in the split (e.g. {extra[:3]}). "
        "The data changed since the split was saved: make a new split (and retrain) or read the same data."
    )


def _check_partition(parts: Sequence[NDArray[np.int64]], n: int) -> None:
    joined = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    if joined.size != n or (n and not np.array_equal(np.sort(joined), np.arange(n))):
        raise ValueError(f"train/val/test must partition the {n} samples exactly once each")


def _check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    fr = tuple(float(f) for f in fractions)
    if len(fr) != len(PARTS) or any(not np.isfinite(f) or f < 0 for f in fr):
        raise ValueError(f"fractions must be three non-negative numbers (train, val, test), got {fractions}")
    if abs(sum(fr) - 1.0) > _FRACTION_TOLERANCE:
        raise ValueError(f"fractions must sum to 1, got {fr} (sum {sum(fr)})")
    return fr  # type: ignore[return-value]


def scenario_seed(seed: int, scenario: str) -> list[int]:
    """Seed sequence of one scenario's generator: stable across Python runs (CRC-32, not hash())."""
    return [int(seed), zlib.crc32(scenario.encode())]


def _frame_parts(n: int, seed: int, fr: tuple[float, float, float]) -> list[NDArray[np.int64]]:
    perm = np.random.default_rng(seed).permutation(n)
    n_val, n_test = round(fr[1] * n), round(fr[2] * n)
    n_train = n - n_val - n_test
    return [perm[:n_train], perm[n_train : n_train + n_val], perm[n_train + n_val :]]


def _drive_parts(
    samples: Sequence[Sample], seed: int, fr: tuple[float, float, float]
) -> tuple[list[NDArray[np.int64]], dict]:
    no_drive = [s.key for s in samples if s.seq_index < 0]
    if no_drive:
        raise ValueError(
            f"the drive protocol needs drive numbers (seq_index) but {len(no_drive)} samples have none "
            f"(e.g. {no_drive[:3]}); the challenge layout carries none - use the frame protocol for it"
        )
    by_scenario: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, s in enumerate(samples):
        by_scenario[s.scenario][s.seq_index].append(i)
    parts: list[list[int]] = [[], [], []]
    held_out: dict[str, dict[str, list[int]]] = {}
    for scenario in sorted(by_scenario):
        groups = by_scenario[scenario]
        drives = np.array(sorted(groups), dtype=np.int64)
        order = np.random.default_rng(scenario_seed(seed, scenario)).permutation(drives)
        n_test, n_val = _held_out_counts(len(drives), fr)
        test, val, train = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
        for part, chosen in zip(parts, (train, val, test), strict=True):
            for d in chosen:
                part.extend(groups[int(d)])
        held_out[scenario] = {"val": sorted(int(d) for d in val), "test": sorted(int(d) for d in test)}
    return [np.array(p, dtype=np.int64) for p in parts], {"held_out_drives": held_out}


def _held_out_counts(n_drives: int, fr: tuple[float, float, float]) -> tuple[int, int]:
    """Drives to test and val: rounded shares, at least one each while a training drive remains."""
    n_test, n_val = round(fr[2] * n_drives), round(fr[1] * n_drives)
    if fr[2] > 0 and n_test == 0 and n_drives >= 2:
        n_test = 1
    if fr[1] > 0 and n_val == 0 and n_drives - n_test >= 2:
        n_val = 1
    return n_test, n_val


def make_split(
    samples: Sequence[Sample],
    protocol: str,
    seed: int,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
) -> Split:
    """Split `samples` by `protocol` ("frame" | "drive") with `seed`; indices sorted within each part."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    fr = _check_fractions(fractions)
    keys = tuple(s.key for s in samples)
    if len(set(keys)) != len(keys):
        dup = sorted(k for k, c in Counter(keys).items() if c > 1)[:3]
        raise ValueError(f"sample keys must be unique to split, repeated: {dup}")
    if protocol == FRAME:
        parts, info = _frame_parts(len(samples), seed, fr), {}
    else:
        parts, info = _drive_parts(samples, seed, fr)
    parts = [np.sort(p).astype(np.int64) for p in parts]
    _check_partition(parts, len(samples))
    split = Split(protocol, int(seed), fr, keys, parts[0], parts[1], parts[2], info)
    log.info("%s split, seed %d: %s", protocol, seed, split.sizes)
    return split
