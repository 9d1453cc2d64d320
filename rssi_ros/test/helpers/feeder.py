"""Child process of the node tests: publishes a generated scene's frames (and malformed messages) over DDS.

Usage: feeder.py SCENE_CSV [--compressed] [--best-effort] [--estimate-topic T] [--jpeg-node-topic T]

Line protocol: the feeder prints READY once every publisher has matched a subscriber, then obeys
one command per stdin line and answers with one stdout line:
  probe                 publish complete probe frames (frame_id "probe") every 0.1 s until the next line
  frames START N GAP_MS [nodets]   frames START..START+N-1, stamps = wall clock at publication,
                        GAP_MS apart; `nodets`: without detections, `noimage`: without image,
                        `offsetfixes`: fix stamps RX_OFFSET_NS/TX_OFFSET_NS off the image's (inside
                        the node's windows). Answers SENT [[stamp_ns, index], ...]
  fuzz N_MALFORMED N_VALID  malformed messages interleaved with valid frames (waits for the
                        estimate of each valid frame: flow control), plus well-formed edge cases
                        that do not count as malformed. Answers FUZZ {"expected": ...}
  quit
Frames are the exact bytes the bag writer would store (`rssi_ros.bags.frames.FrameEncoder`).

With `--jpeg-node-topic T` a second node (camera.transport compressed, estimates on T) shares the
fix and detection topics: the fuzz also sends CompressedImage garbage to it, and each valid fuzz
frame goes to it as the scene's JPEG.
"""

from __future__ import annotations

import argparse
import json
import math
import queue
import sys
import threading
import time
from collections import Counter

import numpy as np
import rclpy
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image, NavSatFix

from rssi_ros.bags.frames import NS, FrameEncoder, FrameOptions, restamp
from rssi_ros.bags.topics import BagTopics
from rssi_ros.data.readers import read_dataset
from rssi_ros.ros.image_conversion import PNG_SIGNATURE, compressed_size
from rssi_ros.ros.reasons import InputError
from rssi_ros_msgs.msg import Detection, DetectionArray, RssiEstimate

MATCH_TIMEOUT_S = 60.0
PROBE_PERIOD_S = 0.1
ESTIMATE_TIMEOUT_S = 30.0
DEPTH = 1000
# `offsetfixes`: inside the tests' +-20 ms fix windows, far outside the 1 ms detection tolerance.
RX_OFFSET_NS = -3_000_000
TX_OFFSET_NS = 4_000_000
# A detector's absurd but finite box (pixels), added to every HUGE_BOX_EVERY-th valid fuzz frame.
HUGE_BOX_PX = 1e12
HUGE_BOX_EVERY = 2
HUGE_BOX_CLASS = "²"


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Feeder:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.samples = read_dataset(args.scene).samples
        self.encoder = FrameEncoder(FrameOptions(compressed=args.compressed, ground_truth=False, clock=False))
        self.topics = BagTopics()
        self.node = rclpy.create_node("rssi_test_feeder")
        rel = ReliabilityPolicy.BEST_EFFORT if args.best_effort else ReliabilityPolicy.RELIABLE
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=DEPTH, reliability=rel)
        image_type = CompressedImage if args.compressed else Image
        self.pubs = {
            self.topics.rx_fix: self.node.create_publisher(NavSatFix, self.topics.rx_fix, qos),
            self.topics.tx_fix: self.node.create_publisher(NavSatFix, self.topics.tx_fix, qos),
            self.topics.detections: self.node.create_publisher(DetectionArray, self.topics.detections, qos),
            self.topics.image_topic(args.compressed): self.node.create_publisher(
                image_type, self.topics.image_topic(args.compressed), qos
            ),
        }
        self.image_topic = self.topics.image_topic(args.compressed)
        self.estimates: dict[int, RssiEstimate] = {}
        self.totals: Counter[str] = Counter()  # everything published, by diagnostics counter key
        self.frame_stamps: list[int] = []  # stamps of the complete frames published
        self.node.create_subscription(RssiEstimate, args.estimate_topic, self._on_estimate, 100)
        self._frames = [self.encoder.encode(s, 1) for s in self.samples]  # pre-serialised, restamped later
        # The second (compressed) node: its image topic, estimates and image totals.
        self.jpeg_topic = self.topics.image_topic(True) if args.jpeg_node_topic else None
        self.jpeg_estimates: dict[int, RssiEstimate] = {}
        self.jpeg_totals: Counter[str] = Counter()
        self._jpeg_frames: list[bytes] = []
        self.required = {topic: 1 for topic in self.pubs}
        if self.jpeg_topic is not None:
            assert not args.compressed, "the main node takes raw images when a second node takes JPEG"
            self.pubs[self.jpeg_topic] = self.node.create_publisher(CompressedImage, self.jpeg_topic, qos)
            self.required = {t: 1 if t in (self.image_topic, self.jpeg_topic) else 2 for t in self.pubs}
            self.node.create_subscription(
                RssiEstimate, args.jpeg_node_topic, lambda m: self.jpeg_estimates.__setitem__(_ns(m), m), 100
            )
            jpeg_encoder = FrameEncoder(FrameOptions(compressed=True, ground_truth=False, clock=False))
            for sample in self.samples:
                msgs = jpeg_encoder.encode(sample, 1)
                self._jpeg_frames.append(next(m.data for m in msgs if m.topic == self.jpeg_topic))
            self.jpeg_bytes = bytes(self._decode(self.jpeg_topic, self._jpeg_frames[0]).data)
            self.jpeg_header_end = _jpeg_header_end(self.jpeg_bytes)

    def _on_estimate(self, msg: RssiEstimate) -> None:
        self.estimates[msg.header.stamp.sec * NS + msg.header.stamp.nanosec] = msg

    def wait_matched(self) -> None:
        deadline = time.monotonic() + MATCH_TIMEOUT_S
        while any(p.get_subscription_count() < self.required[t] for t, p in self.pubs.items()):
            if time.monotonic() > deadline:
                missing = [t for t, p in self.pubs.items() if p.get_subscription_count() < self.required[t]]
                raise SystemExit(f"feeder: no subscriber on {missing} within {MATCH_TIMEOUT_S} s")
            rclpy.spin_once(self.node, timeout_sec=0.02)

    def publish_frame(
        self,
        index: int,
        stamp: int,
        detections: bool = True,
        frame_id: str | None = None,
        image: bool = True,
        offset_fixes: bool = False,
        jpeg: bool = False,
        huge_box: bool = False,
    ) -> None:
        streams = {
            self.topics.rx_fix: "rx_fix",
            self.topics.tx_fix: "tx_fix",
            self.topics.detections: "detections",
            self.image_topic: "images",
        }
        offsets = {self.topics.rx_fix: RX_OFFSET_NS, self.topics.tx_fix: TX_OFFSET_NS} if offset_fixes else {}
        self.frame_stamps.append(stamp)
        for m in self._frames[index]:
            if (m.topic == self.topics.detections and not detections) or (
                m.topic == self.image_topic and not image
            ):
                continue
            self.totals[f"{streams[m.topic]}.received"] += 1
            data = restamp(m.data, stamp + offsets.get(m.topic, 0))
            if frame_id is not None and m.topic == self.image_topic:
                msg = self._decode(m.topic, data)
                msg.header.frame_id = frame_id
                self.pubs[m.topic].publish(msg)
            elif huge_box and m.topic == self.topics.detections:
                msg = self._decode(m.topic, data)
                d = Detection(class_name=HUGE_BOX_CLASS, class_id=-1, score=0.5)
                d.center_x, d.center_y = msg.image_width / 2, msg.image_height / 2
                d.size_x = d.size_y = HUGE_BOX_PX
                msg.detections.append(d)
                self.pubs[m.topic].publish(msg)
            else:
                self.pubs[m.topic].publish(data)
        if jpeg and image and self.jpeg_topic is not None:
            self.jpeg_totals["images.received"] += 1
            self.pubs[self.jpeg_topic].publish(restamp(self._jpeg_frames[index], stamp))

    def _decode(self, topic: str, data: bytes):
        from rclpy.serialization import deserialize_message

        return deserialize_message(data, self.pubs[topic].msg_type)

    # -- commands -------------------------------------------------------------------------------
    def probe(self, commands: queue.Queue) -> None:
        k = 0
        while commands.empty():
            self.publish_frame(k % len(self.samples), time.time_ns(), frame_id="probe")
            k += 1
            end = time.monotonic() + PROBE_PERIOD_S
            while time.monotonic() < end:
                rclpy.spin_once(self.node, timeout_sec=0.01)
        commands.get()
        _out("PROBE_STOPPED")

    def frames(
        self,
        start: int,
        n: int,
        gap_ms: float,
        detections: bool = True,
        image: bool = True,
        offset_fixes: bool = False,
    ) -> list[list[int]]:
        sent = []
        for i in range(start, start + n):
            index = i % len(self.samples)
            stamp = time.time_ns()
            self.publish_frame(index, stamp, detections, image=image, offset_fixes=offset_fixes)
            sent.append([stamp, index])
            end = time.monotonic() + gap_ms / 1e3
            while time.monotonic() < end:
                rclpy.spin_once(self.node, timeout_sec=0.005)
        return sent

    def fuzz(self, n_malformed: int, n_valid: int) -> dict:
        """Malformed messages in batches, each batch followed by one valid frame that must be answered.

        Each batch also carries one well-formed edge case (EDGE_CASES), not counted as malformed.
        """
        expected: dict[str, Counter[str]] = {"shared": Counter(), "images": Counter(), "jpeg": Counter()}
        valid, huge_stamps = [], []
        rng = np.random.default_rng(1234)
        kinds = [k for k, (_, stream, _) in enumerate(MALFORMED) if stream != "jpeg" or self.jpeg_topic]
        per_batch = math.ceil(n_malformed / n_valid)
        sent_bad = sent_edge = 0
        for k in range(n_valid):
            for _ in range(min(per_batch, n_malformed - sent_bad)):
                self._send(MALFORMED[int(rng.choice(kinds))], rng, expected)
                sent_bad += 1
            self._send(EDGE_CASES[k % len(EDGE_CASES)], rng, expected)
            sent_edge += 1
            stamp = time.time_ns()
            index = k % len(self.samples)
            huge = k % HUGE_BOX_EVERY == 0
            if huge:
                expected["shared"]["detections.unknown_classes"] += 1  # the huge box's class "²"
                huge_stamps.append(stamp)
            self.publish_frame(index, stamp, jpeg=True, huge_box=huge)
            valid.append([stamp, index])
            waits = [self.estimates] + ([self.jpeg_estimates] if self.jpeg_topic else [])
            deadline = time.monotonic() + ESTIMATE_TIMEOUT_S
            while not all(stamp in w for w in waits):
                if time.monotonic() > deadline:
                    raise SystemExit(
                        f"feeder: valid frame {k} (stamp {stamp}) not answered in {ESTIMATE_TIMEOUT_S} s"
                    )
                rclpy.spin_once(self.node, timeout_sec=0.01)
            # Let a future-stamped fix never become "current": keep frames apart by more than the windows.
            time.sleep(0.03)
        shared = expected["shared"]
        return {
            "expected": dict(shared + expected["images"]),
            "expected_jpeg": dict(shared + expected["jpeg"]),
            "valid": valid,
            "huge_boxes": huge_stamps,
            "malformed": sent_bad,
            "edge_cases": sent_edge,
            "totals": dict(self.totals),
            # The second node shares the fix and detection topics, not the raw images.
            "totals_jpeg": {
                **{k: v for k, v in self.totals.items() if not k.startswith("images.")},
                **self.jpeg_totals,
            },
        }

    def unmatched_stamp(self, now: int) -> int:
        """A stamp about 3 s old (inside the node's stamp checks) that no published frame's fix matches."""
        stamp = now - 3 * NS
        while any(abs(stamp - t) < UNMATCHED_MARGIN_NS for t in self.frame_stamps[-500:]):
            stamp -= UNMATCHED_STEP_NS
        return stamp

    def _send(self, kind: tuple[str, str, str], rng: np.random.Generator, expected: dict) -> None:
        name, stream, counter = kind
        now = time.time_ns()
        group = "images" if stream == "images" else "jpeg" if stream == "jpeg" else "shared"
        if stream == "jpeg":
            self.jpeg_totals["images.received"] += 1
        else:
            self.totals[f"{stream}.received"] += 1
        if counter:
            expected[group][counter] += UNKNOWN_PER_ARRAY.get(name, 1)
        if stream == "images":
            self.pubs[self.image_topic].publish(_bad_image(name, now, rng, self.unmatched_stamp(now)))
        elif stream == "jpeg":
            data = _bad_compressed(name, rng, self.jpeg_bytes, self.jpeg_header_end)
            msg = CompressedImage(format="png" if name == "png_huge_header" else "jpeg", data=data)
            _stamp(msg, self.unmatched_stamp(now))  # were it decoded after all: stale_tx_fix, not an estimate
            self.pubs[self.jpeg_topic].publish(msg)
        elif stream in ("rx_fix", "tx_fix"):
            topic = self.topics.rx_fix if stream == "rx_fix" else self.topics.tx_fix
            self.pubs[topic].publish(_bad_fix(name, now))
        else:
            self.pubs[self.topics.detections].publish(_bad_detections(name, now, rng))


# Strictly malformed messages: (name, stream, the diagnostics counter it must increment). Stream
# "jpeg" is the second node's CompressedImage topic (only with --jpeg-node-topic).
MALFORMED: list[tuple[str, str, str]] = [
    ("wrong_encoding", "images", "images.skipped.unsupported_encoding"),
    ("step_short", "images", "images.skipped.step_mismatch"),
    ("truncated", "images", "images.skipped.size_mismatch"),
    ("oversize_data", "images", "images.skipped.size_mismatch"),
    ("empty", "images", "images.skipped.empty_image"),
    ("yuv_odd_width", "images", "images.skipped.odd_width"),
    ("image_future", "images", "images.skipped.stamp_future"),
    ("image_past", "images", "images.skipped.stamp_too_old"),
    ("image_zero_stamp", "images", "images.skipped.zero_stamp"),
    ("image_no_fix", "images", "images.skipped.stale_tx_fix"),
    ("jpeg_truncated_header", "jpeg", "images.skipped.decode_failed"),
    ("jpeg_truncated_scan", "jpeg", "images.skipped.decode_failed"),
    ("jpeg_random_bytes", "jpeg", "images.skipped.unsupported_encoding"),
    ("png_huge_header", "jpeg", "images.skipped.image_too_large"),
    ("jpeg_empty", "jpeg", "images.skipped.empty_image"),
    ("no_fix", "tx_fix", "tx_fix.rejected.no_fix"),
    ("nan", "tx_fix", "tx_fix.rejected.non_finite"),
    ("inf", "rx_fix", "rx_fix.rejected.non_finite"),
    ("out_of_range", "rx_fix", "rx_fix.rejected.out_of_range"),
    ("covariance", "tx_fix", "tx_fix.rejected.covariance_too_large"),
    ("nan_covariance", "tx_fix", "tx_fix.rejected.covariance_too_large"),
    ("fix_future", "tx_fix", "tx_fix.rejected.stamp_future"),
    ("fix_past", "rx_fix", "rx_fix.rejected.stamp_too_old"),
    ("fix_zero_stamp", "tx_fix", "tx_fix.rejected.zero_stamp"),
    ("oversize_array", "detections", "detections.rejected.too_many_detections"),
    ("detections_future", "detections", "detections.rejected.stamp_future"),
    ("detections_past", "detections", "detections.rejected.stamp_too_old"),
    ("detections_zero_stamp", "detections", "detections.rejected.zero_stamp"),
]
# Well-formed edge cases (extra, not counted as malformed): accepted, and counted where noted.
UNICODE_CLASSES = ("²", "٣", "⑦", "٣٣")  # digit-like to str.isdigit, none a class id
EDGE_CASES: list[tuple[str, str, str]] = [
    ("empty_array", "detections", ""),  # the detector found nothing (matches no frame)
    ("unknown_classes", "detections", "detections.unknown_classes"),  # mapped to "other", counted
    ("unicode_classes", "detections", "detections.unknown_classes"),
]
UNKNOWN_PER_ARRAY = {"unknown_classes": 5, "unicode_classes": len(UNICODE_CLASSES)}
FAR_S = 100
UNMATCHED_MARGIN_NS = 40_000_000  # twice the node's fix windows in the tests
UNMATCHED_STEP_NS = 5_000_000
HUGE_PNG_SIDE = 100_000  # claimed by a 33-byte PNG header: 10^10 pixels
MAX_RANDOM_BYTES = 2000


def _ns(msg) -> int:
    return msg.header.stamp.sec * NS + msg.header.stamp.nanosec


def _jpeg_header_end(jpeg: bytes) -> int:
    """The shortest prefix of `jpeg` whose frame header is complete (cuts before it are header cuts)."""
    for n in range(2, len(jpeg)):
        try:
            compressed_size(jpeg[:n])
        except InputError:
            continue
        return n
    raise SystemExit("feeder: the scene's JPEG has no frame header")


def _bad_compressed(name: str, rng: np.random.Generator, jpeg: bytes, header_end: int) -> bytes:
    if name == "jpeg_truncated_header":
        return jpeg[: int(rng.integers(2, header_end))]
    if name == "jpeg_truncated_scan":
        return jpeg[: int(rng.integers(header_end + 1, len(jpeg) - 2))]  # no end-of-image marker
    if name == "jpeg_random_bytes":
        data = bytearray(
            rng.integers(0, 256, int(rng.integers(1, MAX_RANDOM_BYTES)), dtype=np.uint8).tobytes()
        )
        data[0] = int(rng.integers(0, 0x89))  # starts like neither PNG (0x89) nor JPEG (0xFF)
        return bytes(data)
    if name == "png_huge_header":
        ihdr = HUGE_PNG_SIDE.to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
        return PNG_SIGNATURE + len(ihdr).to_bytes(4, "big") + b"IHDR" + ihdr + bytes(4)
    return b""  # jpeg_empty


def _stamp(msg, stamp_ns: int) -> None:
    msg.header.stamp.sec, msg.header.stamp.nanosec = stamp_ns // NS, stamp_ns % NS


def _bad_image(name: str, now: int, rng: np.random.Generator, unmatched: int) -> Image:
    msg = Image()
    h, w = 8, 12
    msg.height, msg.width, msg.encoding, msg.step = h, w, "rgb8", w * 3
    data = rng.integers(0, 256, h * w * 3, dtype=np.uint8).tobytes()
    stamp = now
    if name == "wrong_encoding":
        msg.encoding = str(rng.choice(["bayer_rggb8", "jpeg", "32FC1", ""]))
    elif name == "step_short":
        msg.step = w * 3 - 1
        data = data[: msg.step * h]
    elif name == "truncated":
        data = data[: int(rng.integers(0, len(data)))]
    elif name == "oversize_data":
        data += b"\x00" * int(rng.integers(1, 100))
    elif name == "empty":
        msg.height = msg.width = msg.step = 0
        data = b""
    elif name == "yuv_odd_width":
        msg.encoding, msg.width = str(rng.choice(["yuyv", "yuv422", "uyvy", "yuv422_yuy2"])), w - 1
        msg.step = msg.width * 2
        data = data[: msg.step * h]
    elif name == "image_future":
        stamp = now + FAR_S * NS
    elif name == "image_past":
        stamp = now - FAR_S * NS
    elif name == "image_zero_stamp":
        stamp = 0
    elif name == "image_no_fix":
        stamp = unmatched  # within the stamp checks, but no fix near it
    msg.data = data
    _stamp(msg, stamp)
    msg.header.frame_id = "fuzz"
    return msg


def _bad_fix(name: str, now: int) -> NavSatFix:
    msg = NavSatFix()
    msg.status.status = 0
    msg.latitude, msg.longitude, msg.altitude = 33.42, -111.93, math.nan
    stamp = now
    if name == "no_fix":
        msg.status.status = -1
    elif name == "nan":
        msg.latitude = math.nan
    elif name == "inf":
        msg.longitude = -math.inf
    elif name == "out_of_range":
        msg.latitude = 123.0
    elif name == "covariance":
        msg.position_covariance_type = 2
        msg.position_covariance = [1e4, 0.0, 0.0, 0.0, 1e4, 0.0, 0.0, 0.0, 1e4]
    elif name == "nan_covariance":
        msg.position_covariance_type = 2
        msg.position_covariance = [math.nan, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    elif name == "fix_future":
        stamp = now + FAR_S * NS
    elif name == "fix_past":
        stamp = now - FAR_S * NS
    elif name == "fix_zero_stamp":
        stamp = 0
    _stamp(msg, stamp)
    return msg


def _bad_detections(name: str, now: int, rng: np.random.Generator) -> DetectionArray:
    msg = DetectionArray()
    msg.image_width, msg.image_height = 960, 540
    stamp = now + int(0.3 * NS)  # matches no frame
    n = 0
    if name == "oversize_array":
        n = 300
    elif name == "detections_future":
        stamp, n = now + FAR_S * NS, 2
    elif name == "detections_past":
        stamp, n = now - FAR_S * NS, 2
    elif name == "detections_zero_stamp":
        stamp, n = 0, 2
    elif name in UNKNOWN_PER_ARRAY:
        n = UNKNOWN_PER_ARRAY[name]
    for i in range(n):
        d = Detection()
        d.class_name = "car"
        if name == "unknown_classes":
            d.class_name = f"unknown_{i}"
        elif name == "unicode_classes":
            d.class_name = UNICODE_CLASSES[i]
        d.class_id = -1
        d.score = 0.5
        d.center_x, d.center_y, d.size_x, d.size_y = (float(v) for v in rng.uniform(1, 500, 4))
        msg.detections.append(d)
    _stamp(msg, stamp)
    return msg


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scene")
    parser.add_argument("--compressed", action="store_true")
    parser.add_argument("--best-effort", action="store_true")
    parser.add_argument("--estimate-topic", default="/rssi_predictor/estimate")
    parser.add_argument("--jpeg-node-topic", default="", help="estimate topic of a second, compressed node")
    args = parser.parse_args()
    rclpy.init()
    feeder = Feeder(args)
    commands: queue.Queue[str] = queue.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            commands.put(line.strip())
        commands.put("quit")

    threading.Thread(target=read_stdin, daemon=True).start()
    try:
        feeder.wait_matched()
        _out("READY")
        while True:
            cmd = commands.get().split()
            if not cmd or cmd[0] == "quit":
                break
            if cmd[0] == "probe":
                feeder.probe(commands)
            elif cmd[0] == "frames":
                sent = feeder.frames(
                    int(cmd[1]),
                    int(cmd[2]),
                    float(cmd[3]),
                    detections="nodets" not in cmd,
                    image="noimage" not in cmd,
                    offset_fixes="offsetfixes" in cmd,
                )
                _out("SENT " + json.dumps(sent))
            elif cmd[0] == "fuzz":
                _out("FUZZ " + json.dumps(feeder.fuzz(int(cmd[1]), int(cmd[2]))))
            else:
                _out(f"ERROR unknown command {cmd}")
    finally:
        feeder.node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
