"""Read bags back: message streams, a summary, and the `Sample`s of a bag written by `writer`.

`bag_to_samples` groups messages by header stamp (the writer gives all messages of a frame the
same stamp), so a written bag reads back into the samples it came from: the round trip that the
tests check for both storages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rosbags.highlevel import AnyReader

from rssi_ros.bags.topics import (
    COMPRESSED_TYPE,
    DETECTIONS_TYPE,
    ESTIMATE_TYPE,
    FIX_TYPE,
    IMAGE_TYPE,
    BagTopics,
)
from rssi_ros.bags.typestore import typestore
from rssi_ros.data.sample import Sample
from rssi_ros.ros.detection_conversion import from_detection_array
from rssi_ros.ros.fix_validation import stamp_ns
from rssi_ros.ros.image_conversion import compressed_to_rgb, image_to_rgb

NS = 1_000_000_000


@dataclass(frozen=True)
class BagMessage:
    topic: str
    msgtype: str
    time_ns: int
    msg: object


def messages(path: str | Path, topics: set[str] | None = None) -> Iterator[BagMessage]:
    """Deserialised messages of a bag (sqlite3 or mcap) in receive-time order."""
    with AnyReader([Path(path)], default_typestore=typestore()) as reader:
        conns = [c for c in reader.connections if topics is None or c.topic in topics]
        for conn, t, raw in reader.messages(connections=conns):
            yield BagMessage(conn.topic, conn.msgtype, t, reader.deserialize(raw, conn.msgtype))


def bag_info(path: str | Path) -> dict:
    """Topics with types and counts, time range and storage of a bag."""
    with AnyReader([Path(path)], default_typestore=typestore()) as reader:
        topics = {
            name: {"type": info.msgtype, "count": info.msgcount}
            for name, info in sorted(reader.topics.items())
        }
        return {
            "path": str(path),
            "start_s": reader.start_time / NS,
            "end_s": reader.end_time / NS,
            "duration_s": reader.duration / NS,
            "messages": reader.message_count,
            "topics": topics,
        }


def bag_to_samples(path: str | Path, topics: BagTopics | None = None) -> list[Sample]:
    """The samples of a bag written by `write_bag` (one per image, or per Tx fix without images)."""
    topics = topics or BagTopics()
    frames: dict[int, dict] = defaultdict(dict)
    for m in messages(path):
        if m.msgtype == FIX_TYPE and m.topic in (topics.rx_fix, topics.tx_fix):
            key = "rx" if m.topic == topics.rx_fix else "tx"
            frames[stamp_ns(m.msg.header.stamp)][key] = (m.msg.latitude, m.msg.longitude)
        elif m.msgtype in (IMAGE_TYPE, COMPRESSED_TYPE):
            rgb = image_to_rgb(m.msg) if m.msgtype == IMAGE_TYPE else compressed_to_rgb(m.msg)
            frames[stamp_ns(m.msg.header.stamp)]["image"] = rgb
        elif m.msgtype == DETECTIONS_TYPE:
            frames[stamp_ns(m.msg.header.stamp)]["detections"] = from_detection_array(m.msg, _vocabulary())
        elif m.msgtype == ESTIMATE_TYPE and m.topic == topics.ground_truth:
            frames[stamp_ns(m.msg.header.stamp)]["rssi"] = float(m.msg.rssi_db)
    samples = []
    for i, (t, f) in enumerate(sorted(frames.items())):
        if "rx" not in f or "tx" not in f:
            continue
        image = f.get("image")
        boxes = None
        if "detections" in f and image is not None:
            boxes, _ = f["detections"].to_boxes(image.shape[1], image.shape[0])
        samples.append(
            Sample(
                rx_lat=f["rx"][0],
                rx_lon=f["rx"][1],
                tx_lat=f["tx"][0],
                tx_lon=f["tx"][1],
                image=image,
                boxes=boxes,
                rssi_db=f.get("rssi"),
                scenario=Path(path).name,
                index=i,
                stamp=t / NS,
                extras={"stamp_ns": t},  # exact; the float seconds of a 1.6e9 s stamp are not
            )
        )
    return samples


def _vocabulary():
    from rssi_ros.data.classes import ClassVocabulary

    return ClassVocabulary()
