"""Independent, seeded random streams, one per purpose (and per drive or frame where it matters).

Keying every draw by (seed, purpose, drive/frame) rather than pulling from one generator makes the
generator's invariants hold by construction: adding a distractor, rendering frames in another
order or in worker processes, or asking for more frames never shifts the random numbers of the
radio, the GPS or the traffic of other drives.
"""

from __future__ import annotations

import enum

import numpy as np


class Stream(enum.IntEnum):
    """Purposes of random numbers; the values are part of the seed, so never renumber them."""

    SCENE = 1  # static scene: signs, buildings, shadowing field
    DRIVE = 2  # per drive: Tx lane and speed, gaps, lighting
    TRAFFIC = 3  # per drive: distractors
    RADIO_DRIVE = 4  # per drive: the unseen drive offset
    MEASUREMENT = 5  # per frame: measurement noise of the 64 beams
    GPS = 6  # per drive: GPS error process
    TIMING = 7  # per drive: time-stamp jitter
    RENDER = 8  # per frame: sensor grain offset
    SHADOWING = 9  # static: the shadowing field
    BACKGROUND = 10  # static: buildings and trees


def stream(seed: int, purpose: Stream, *key: int) -> np.random.Generator:
    """A generator determined only by the seed, the purpose and the key (e.g. drive or frame number)."""
    if seed < 0:
        raise ValueError("seed must be non-negative")
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(purpose), *map(int, key))))
