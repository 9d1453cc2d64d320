"""Child process of the node tests: publishes a generated scene's frames (and malformed messages) over DDS.

Usage: feeder.py SCENE_CSV [--compressed] [--best-effort] [--estimate-topic T]

Line protocol: the feeder prints READY once every publisher has matched a subscriber, then obeys
one command per stdin line and answers with one stdout line:
  probe                 publish complete probe frames (frame_id "probe") every 0.1 s until the next line
  frames START N GAP_MS [nodets]   frames START..START+N-1, stamps = wall clock at publication,
                        GAP_MS apart; `nodets`: without detections, `noimage`: without image.
                        Answers SENT [[stamp_ns, index], ...]
  fuzz N_MALFORMED N_VALID  malformed messages interleaved with valid frames (waits for the
                        estimate of each valid frame: flow control). Answers FUZZ {"expected": ...}
  quit
Frames are the exact bytes the bag writer would store (`rssi_ros.bags.frames.FrameEncoder`).
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
from rssi_ros_msgs.msg import Detection, DetectionArray, RssiEstimate

MATCH_TIMEOUT_S = 60.0
PROBE_PERIOD_S = 0.1
ESTIMATE_TIMEOUT_S = 30.0
DEPTH = 1000


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

    def _on_estimate(self, msg: RssiEstimate) -> None:
        self.estimates[msg.header.stamp.sec * NS + msg.header.stamp.nanosec] = msg

    def wait_matched(self) -> None:
        deadline = time.monotonic() + MATCH_TIMEOUT_S
        while any(p.get_subscription_count() < 1 for p in self.pubs.values()):
            if time.monotonic() > deadline:
                missing = [t for t, p in self.pubs.items() if p.get_subscription_count() < 1]
                raise SystemExit(f"feeder: no subscriber on {missing} within {MATCH_TIMEOUT_S} s")
            rclpy.spin_once(self.node, timeout_sec=0.02)

    def publish_frame(
        self, index: int, stamp: int, detections: bool = True, frame_id: str | None = None, image: bool = True
    ) -> None:
        streams = {
            self.topics.rx_fix: "rx_fix",
            self.topics.tx_fix: "tx_fix",
            self.topics.detections: "detections",
            self.image_topic: "images",
        }
        self.frame_stamps.append(stamp)
        for m in self._frames[index]:
            if (m.topic == self.topics.detections and not detections) or (
                m.topic == self.image_topic and not image
            ):
                continue
            self.totals[f"{streams[m.topic]}.received"] += 1
            data = restamp(m.data, stamp)
            if frame_id is not None and m.topic == self.image_topic:
                msg = self._decode(m.topic, data)
                msg.header.frame_id = frame_id
                self.pubs[m.topic].publish(msg)
            else:
                self.pubs[m.topic].publish(data)

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
        self, start: int, n: int, gap_ms: float, detections: bool = True, image: bool = True
    ) -> list[list[int]]:
        sent = []
        for i in range(start, start + n):
            index = i % len(self.samples)
            stamp = time.time_ns()
            self.publish_frame(index, stamp, detections, image=image)
            sent.append([stamp, index])
            end = time.monotonic() + gap_ms / 1e3
            while time.monotonic() < end:
                rclpy.spin_once(self.node, timeout_sec=0.005)
        return sent

    def fuzz(self, n_malformed: int, n_valid: int) -> dict:
        """Malformed messages in batches, each batch followed by one valid frame that must be answered."""
        expected: Counter[str] = Counter()
        valid = []
        rng = np.random.default_rng(1234)
        per_batch = math.ceil(n_malformed / n_valid)
        sent_bad = 0
        for k in range(n_valid):
            for _ in range(min(per_batch, n_malformed - sent_bad)):
                self._malformed(int(rng.integers(len(MALFORMED))), rng, expected)
                sent_bad += 1
            stamp = time.time_ns()
            index = k % len(self.samples)
            self.publish_frame(index, stamp)
            valid.append([stamp, index])
            deadline = time.monotonic() + ESTIMATE_TIMEOUT_S
            while stamp not in self.estimates:
                if time.monotonic() > deadline:
                    raise SystemExit(
                        f"feeder: valid frame {k} (stamp {stamp}) not answered in {ESTIMATE_TIMEOUT_S} s"
                    )
                rclpy.spin_once(self.node, timeout_sec=0.01)
            # Let a future-stamped fix never become "current": keep frames apart by more than the windows.
            time.sleep(0.03)
        return {
            "expected": dict(expected),
            "valid": valid,
            "malformed": sent_bad,
            "totals": dict(self.totals),
        }

    def unmatched_stamp(self, now: int) -> int:
        """A stamp about 3 s old (inside the node's stamp checks) that no published frame's fix matches."""
        stamp = now - 3 * NS
        while any(abs(stamp - t) < UNMATCHED_MARGIN_NS for t in self.frame_stamps[-500:]):
            stamp -= UNMATCHED_STEP_NS
        return stamp

    def _malformed(self, kind: int, rng: np.random.Generator, expected: Counter) -> None:
        name, stream, counter = MALFORMED[kind]
        now = time.time_ns()
        self.totals[f"{stream}.received"] += 1
        if counter:
            expected[counter] += UNKNOWN_PER_ARRAY if counter == "detections.unknown_classes" else 1
        if stream == "images":
            self.pubs[self.image_topic].publish(_bad_image(name, now, rng, self.unmatched_stamp(now)))
        elif stream in ("rx_fix", "tx_fix"):
            topic = self.topics.rx_fix if stream == "rx_fix" else self.topics.tx_fix
            self.pubs[topic].publish(_bad_fix(name, now))
        else:
            self.pubs[self.topics.detections].publish(_bad_detections(name, now, rng))


# (name, stream, the diagnostics counter it must increment; "" = none)
MALFORMED: list[tuple[str, str, str]] = [
    ("wrong_encoding", "images", "images.skipped.unsupported_encoding"),
    ("step_short", "images", "images.skipped.step_mismatch"),
    ("truncated", "images", "images.skipped.size_mismatch"),
    ("oversize_data", "images", "images.skipped.size_mismatch"),
    ("empty", "images", "images.skipped.empty_image"),
    ("image_future", "images", "images.skipped.stamp_future"),
    ("image_past", "images", "images.skipped.stamp_too_old"),
    ("image_zero_stamp", "images", "images.skipped.zero_stamp"),
    ("image_no_fix", "images", "images.skipped.stale_tx_fix"),
    ("no_fix", "tx_fix", "tx_fix.rejected.no_fix"),
    ("nan", "tx_fix", "tx_fix.rejected.non_finite"),
    ("inf", "rx_fix", "rx_fix.rejected.non_finite"),
    ("out_of_range", "rx_fix", "rx_fix.rejected.out_of_range"),
    ("covariance", "tx_fix", "tx_fix.rejected.covariance_too_large"),
    ("fix_future", "tx_fix", "tx_fix.rejected.stamp_future"),
    ("fix_past", "rx_fix", "rx_fix.rejected.stamp_too_old"),
    ("fix_zero_stamp", "tx_fix", "tx_fix.rejected.zero_stamp"),
    ("oversize_array", "detections", "detections.rejected.too_many_detections"),
    ("detections_future", "detections", "detections.rejected.stamp_future"),
    ("detections_zero_stamp", "detections", "detections.rejected.zero_stamp"),
    ("empty_array", "detections", ""),  # valid: the detector found nothing (matches no frame)
    ("unknown_classes", "detections", "detections.unknown_classes"),  # valid, mapped to "other", counted
]
UNKNOWN_PER_ARRAY = 5
FAR_S = 100
UNMATCHED_MARGIN_NS = 40_000_000  # twice the node's fix windows in the tests
UNMATCHED_STEP_NS = 5_000_000


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
    elif name == "detections_zero_stamp":
        stamp, n = 0, 2
    elif name == "unknown_classes":
        n = UNKNOWN_PER_ARRAY
    for i in range(n):
        d = Detection()
        d.class_name = f"unknown_{i}" if name == "unknown_classes" else "car"
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
