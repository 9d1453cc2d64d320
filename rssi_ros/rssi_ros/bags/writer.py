"""Write samples (a DeepSense scenario, a generated scene) as a rosbag2 in sqlite3 or mcap storage."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rosbags.rosbag2 import StoragePlugin, Writer
from tqdm import tqdm

from rssi_ros.bags.frames import DEFAULT_RATE_HZ, DEFAULT_START_S, FrameEncoder, FrameOptions, frame_stamps
from rssi_ros.data.sample import Sample

log = logging.getLogger(__name__)

STORAGES = {"sqlite3": StoragePlugin.SQLITE3, "mcap": StoragePlugin.MCAP}
BAG_VERSION = 9  # rosbag2 metadata version written by Jazzy


@dataclass(frozen=True)
class BagOptions:
    """Storage and timing of a bag; `frames` says which messages each sample becomes."""

    storage: str = "sqlite3"
    start_s: float = DEFAULT_START_S
    rate_hz: float = DEFAULT_RATE_HZ
    frames: FrameOptions = field(default_factory=FrameOptions)

    def __post_init__(self) -> None:
        if self.storage not in STORAGES:
            raise ValueError(f"storage must be one of {sorted(STORAGES)}, got {self.storage!r}")


@dataclass
class BagSummary:
    path: Path
    frames: int
    messages: Counter
    start_ns: int
    end_ns: int

    def to_dict(self) -> dict:
        return {
            "path": str(self.path),
            "frames": self.frames,
            "messages": dict(self.messages),
            "duration_s": (self.end_ns - self.start_ns) / 1e9,
        }


def write_bag(
    samples: Sequence[Sample], out: str | Path, options: BagOptions | None = None, progress: bool = True
) -> BagSummary:
    """Write one bag folder `out` (must not exist). Topics are the node's defaults (see `BagTopics`)."""
    options = options or BagOptions()
    out = Path(out)
    if not samples:
        raise ValueError("no samples to write")
    encoder = FrameEncoder(options.frames)
    stamps = frame_stamps(samples, options.start_s, options.rate_hz)
    counts: Counter[str] = Counter()
    writer = Writer(out, version=BAG_VERSION, storage_plugin=STORAGES[options.storage])
    scenarios = sorted({s.scenario for s in samples if s.scenario})
    writer.set_custom_data("rssi_ros.source", json.dumps({"scenarios": scenarios, "frames": len(samples)}))
    with writer:
        connections = {
            topic: writer.add_connection(topic, msgtype, typestore=encoder.store)
            for topic, msgtype in encoder.topic_types().items()
        }
        for messages in tqdm(
            encoder.encode_all(samples, stamps),
            total=len(samples),
            desc=f"bag {out.name}",
            disable=not progress,
        ):
            for m in messages:
                writer.write(connections[m.topic], m.time_ns, m.data)
                counts[m.topic] += 1
    log.info("wrote %s (%s): %d frames, %s", out, options.storage, len(samples), dict(counts))
    return BagSummary(out, len(samples), counts, stamps[0], stamps[-1])
