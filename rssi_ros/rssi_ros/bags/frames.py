"""One `Sample` as the messages a robot would see: CDR bytes per topic, ready for a bag or a publisher.

The same bytes go into bags (`writer`), into live graphs (`player`, the test feeder, the node
benchmark publish them raw with rclpy), so what is replayed is exactly what was written. Images
stay as exact as the source allows: a JPEG/PNG file goes into a CompressedImage verbatim (no
re-encoding), and a raw Image carries the decoded RGB pixels, so the node sees the pixels that
offline inference of the same sample sees.
"""

from __future__ import annotations

import itertools
import math
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from rssi_ros.bags.topics import (
    CAMERA_FRAME,
    CLOCK_TYPE,
    COMPRESSED_TYPE,
    DETECTIONS_TYPE,
    ESTIMATE_TYPE,
    FIX_TYPE,
    IMAGE_TYPE,
    RX_FRAME,
    TX_FRAME,
    BagTopics,
)
from rssi_ros.bags.typestore import typestore
from rssi_ros.data.classes import ClassVocabulary
from rssi_ros.data.images import decode_rgb, load_rgb
from rssi_ros.data.sample import Sample
from rssi_ros.physics.geodesy import geodesic_distance_m
from rssi_ros.physics.labels import LabelDefinition, decompose

NS = 1_000_000_000
# Fixed start of generated time lines (2020-09-13 12:26:40 UTC): bags are reproducible byte for byte.
DEFAULT_START_S = 1_600_000_000.0
DEFAULT_RATE_HZ = 10.0
# Receive-time offsets within one frame, so every reader replays the topics in this order:
# clock, fixes, detections, image (the image last: it triggers the estimate), ground truth.
ORDER_OFFSET_NS = {"clock": 0, "rx": 1_000, "tx": 2_000, "detections": 3_000, "image": 4_000, "truth": 5_000}
STATUS_FIX, SERVICE_GPS, COVARIANCE_TYPE_UNKNOWN = 0, 1, 0
TRANSMITTER_UNKNOWN, TRANSMITTER_YES = 0, 1
JPEG_SUFFIXES = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png"}
# CDR encapsulation of little-endian plain CDR; a std_msgs/Header starts right after it.
CDR_LE = b"\x00\x01\x00\x00"


@dataclass(frozen=True)
class FrameOptions:
    """How samples become messages."""

    compressed: bool = False
    tx_flag: bool = True  # mark the labelled transmitter box TRANSMITTER_YES (the paper's setting)
    ground_truth: bool = True  # the RSSI label as an RssiEstimate on topics.ground_truth
    clock: bool = True
    jpeg_quality: int = 95
    topics: BagTopics = field(default_factory=BagTopics)


@dataclass(frozen=True)
class Message:
    """One serialised message: topic, type name, receive time (bag timestamp), CDR bytes."""

    topic: str
    msgtype: str
    time_ns: int
    data: bytes


def frame_stamps(
    samples: Sequence[Sample], start_s: float = DEFAULT_START_S, rate_hz: float = DEFAULT_RATE_HZ
) -> list[int]:
    """Header stamps (ns) of the samples: their own time line when it is usable, else a regular one.

    Usable means finite and strictly increasing (DeepSense stamps are seconds of the day, so they
    are offset to `start_s`'s day); otherwise frames are spaced 1/`rate_hz` from `start_s`.
    """
    if rate_hz <= 0:
        raise ValueError("rate_hz must be positive")
    own = [s.stamp for s in samples]
    if own and all(math.isfinite(t) for t in own) and all(b > a for a, b in itertools.pairwise(own)):
        # Offsets first, then the large start: a float of 1.6e9 s cannot hold nanoseconds.
        return [round(start_s * NS) + round((t - own[0]) * NS) for t in own]
    return [round(start_s * NS) + round(i * NS / rate_hz) for i in range(len(samples))]


def restamp(data: bytes, stamp_ns: int) -> bytes:
    """The same message with a new header stamp (messages that start with std_msgs/Header).

    Patches the 8 stamp bytes of little-endian CDR in place of a full deserialise/serialise, so a
    publisher can replay pre-serialised 1.5 MB images at camera rate.
    """
    if data[:4] != CDR_LE:
        raise ValueError("restamp needs little-endian CDR (encapsulation 00 01)")
    return data[:4] + struct.pack("<iI", stamp_ns // NS, stamp_ns % NS) + data[12:]


def header_stamp_ns(data: bytes) -> int:
    """The header stamp of a serialised message that starts with std_msgs/Header."""
    if data[:4] != CDR_LE:
        raise ValueError("header_stamp_ns needs little-endian CDR (encapsulation 00 01)")
    sec, nsec = struct.unpack_from("<iI", data, 4)
    return sec * NS + nsec


class FrameEncoder:
    """Builds the messages of samples with one typestore (rosbags dataclasses) and serialises them."""

    def __init__(
        self, options: FrameOptions | None = None, vocabulary: ClassVocabulary | None = None
    ) -> None:
        self.options = options or FrameOptions()
        self.vocabulary = vocabulary or ClassVocabulary()
        self.store = typestore()
        self.t = self.store.types
        self._coco = {name: cid for cid, name in sorted(self.vocabulary.yolo_ids.items(), reverse=True)}

    # -- message builders --------------------------------------------------------------------------
    def _header(self, stamp_ns: int, frame_id: str):
        time = self.t["builtin_interfaces/msg/Time"](sec=stamp_ns // NS, nanosec=stamp_ns % NS)
        return self.t["std_msgs/msg/Header"](stamp=time, frame_id=frame_id)

    def fix(self, lat: float, lon: float, stamp_ns: int, frame_id: str, status: int = STATUS_FIX):
        T = self.t
        return T[FIX_TYPE](
            header=self._header(stamp_ns, frame_id),
            status=T["sensor_msgs/msg/NavSatStatus"](status=status, service=SERVICE_GPS),
            latitude=float(lat),
            longitude=float(lon),
            altitude=math.nan,  # samples carry no altitude; NaN is NavSatFix's "unknown"
            position_covariance=np.zeros(9, np.float64),
            position_covariance_type=COVARIANCE_TYPE_UNKNOWN,
        )

    def image(self, sample: Sample, stamp_ns: int) -> tuple[object, str, tuple[int, int]] | None:
        """(message, type, (width, height)) of the sample's image, or None when it has none."""
        header = self._header(stamp_ns, CAMERA_FRAME)
        if self.options.compressed:
            data, fmt = self._compressed_bytes(sample)
            if data is None:
                return None
            h, w = decode_rgb(data).shape[:2]
            msg = self.t[COMPRESSED_TYPE](header=header, format=fmt, data=np.frombuffer(data, np.uint8))
            return msg, COMPRESSED_TYPE, (w, h)
        rgb = self._rgb(sample)
        if rgb is None:
            return None
        h, w = rgb.shape[:2]
        msg = self.t[IMAGE_TYPE](
            header=header,
            height=h,
            width=w,
            encoding="rgb8",
            is_bigendian=0,
            step=w * 3,
            data=np.ascontiguousarray(rgb).reshape(-1),
        )
        return msg, IMAGE_TYPE, (w, h)

    @staticmethod
    def _rgb(sample: Sample) -> NDArray[np.uint8] | None:
        if sample.image is not None:
            return sample.image
        if sample.image_path is not None:
            return load_rgb(sample.image_path)
        return None

    def _compressed_bytes(self, sample: Sample) -> tuple[bytes | None, str]:
        if sample.image is None and sample.image_path is not None:
            fmt = JPEG_SUFFIXES.get(Path(sample.image_path).suffix.lower())
            if fmt:
                return Path(sample.image_path).read_bytes(), fmt
        rgb = self._rgb(sample)
        if rgb is None:
            return None, ""
        from rssi_ros.ros.image_conversion import rgb_to_jpeg  # pure module, no rclpy

        return rgb_to_jpeg(rgb, self.options.jpeg_quality), "jpeg"

    def detections(self, sample: Sample, stamp_ns: int, size: tuple[int, int]):
        T = self.t
        w, h = size
        dets = []
        for b in sample.boxes or []:
            name, _ = self.vocabulary.canonical(b.class_name)
            dets.append(
                T["rssi_ros_msgs/msg/Detection"](
                    id="",
                    class_name=b.class_name,
                    class_id=int(self._coco.get(name, -1)),
                    score=float(b.score),
                    center_x=float(b.cx * w),
                    center_y=float(b.cy * h),
                    size_x=float(b.w * w),
                    size_y=float(b.h * h),
                    transmitter=TRANSMITTER_YES
                    if (b.is_transmitter and self.options.tx_flag)
                    else TRANSMITTER_UNKNOWN,
                )
            )
        return T[DETECTIONS_TYPE](
            header=self._header(stamp_ns, CAMERA_FRAME), image_width=w, image_height=h, detections=dets
        )

    def ground_truth(self, sample: Sample, stamp_ns: int):
        d = float(geodesic_distance_m(sample.rx_lat, sample.rx_lon, sample.tx_lat, sample.tx_lon))
        label = LabelDefinition()
        lab = decompose(float(sample.rssi_db), d, label)
        return self.t[ESTIMATE_TYPE](
            header=self._header(stamp_ns, CAMERA_FRAME),
            rssi_db=float(lab.rssi_db),
            path_loss_db=float(lab.path_loss_db),
            shadow_fading_db=float(lab.shadow_fading_db),
            path_loss_exponent=float(label.path_loss_exponent),
            distance_m=d,
            east_m=0.0,
            north_m=0.0,
            tx_in_view=bool(sample.boxes and any(b.is_transmitter for b in sample.boxes)),
            tx_selection=0,
            num_boxes=len(sample.boxes or []),
            modalities=0,
            model_id="ground_truth",
            backend="",
            processing_time_ms=0.0,
        )

    # -- one frame ---------------------------------------------------------------------------------
    def encode(self, sample: Sample, stamp_ns: int) -> list[Message]:
        """The messages of one sample, in replay order, with receive times just after `stamp_ns`."""
        opt, topics, ser = self.options, self.options.topics, self.store.serialize_cdr
        out: list[Message] = []

        def add(key: str, topic: str, msgtype: str, msg) -> None:
            out.append(Message(topic, msgtype, stamp_ns + ORDER_OFFSET_NS[key], bytes(ser(msg, msgtype))))

        if opt.clock:
            clock = self.t[CLOCK_TYPE](
                clock=self.t["builtin_interfaces/msg/Time"](sec=stamp_ns // NS, nanosec=stamp_ns % NS)
            )
            add("clock", topics.clock, CLOCK_TYPE, clock)
        add("rx", topics.rx_fix, FIX_TYPE, self.fix(sample.rx_lat, sample.rx_lon, stamp_ns, RX_FRAME))
        add("tx", topics.tx_fix, FIX_TYPE, self.fix(sample.tx_lat, sample.tx_lon, stamp_ns, TX_FRAME))
        image = self.image(sample, stamp_ns)
        size = image[2] if image is not None else (0, 0)
        if sample.boxes is not None and image is not None:
            add("detections", topics.detections, DETECTIONS_TYPE, self.detections(sample, stamp_ns, size))
        if image is not None:
            add("image", topics.image_topic(opt.compressed), image[1], image[0])
        if opt.ground_truth and sample.rssi_db is not None and math.isfinite(sample.rssi_db):
            add("truth", topics.ground_truth, ESTIMATE_TYPE, self.ground_truth(sample, stamp_ns))
        return out

    def encode_all(self, samples: Sequence[Sample], stamps: Sequence[int]) -> Iterator[list[Message]]:
        for sample, stamp in zip(samples, stamps, strict=True):
            yield self.encode(sample, stamp)

    def topic_types(self) -> dict[str, str]:
        """Every topic this encoder may write, with its type (a bag declares them up front)."""
        opt, topics = self.options, self.options.topics
        types = {
            topics.rx_fix: FIX_TYPE,
            topics.tx_fix: FIX_TYPE,
            topics.detections: DETECTIONS_TYPE,
            topics.image_topic(opt.compressed): COMPRESSED_TYPE if opt.compressed else IMAGE_TYPE,
        }
        if opt.clock:
            types[topics.clock] = CLOCK_TYPE
        if opt.ground_truth:
            types[topics.ground_truth] = ESTIMATE_TYPE
        return types
