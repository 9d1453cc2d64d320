"""The stamp-based sync policy: nearest fix within age/lead, detections within tolerance, bounded waits,
and every image answered exactly once whatever the order of arrival."""

from __future__ import annotations

import random

import pytest

from rssi_ros.ros import reasons
from rssi_ros.ros.detection_conversion import DetectionSet
from rssi_ros.ros.fix_validation import Fix
from rssi_ros.ros.sync import NS, SyncConfig, SyncPolicy, check_stamp

MS = 1_000_000
T0 = 1_700_000_000 * NS


def _fix(t_ns: int, lat: float = 33.0) -> Fix:
    return Fix(lat, -111.0, 0.0, t_ns)


def _dets(t_ns: int) -> DetectionSet:
    return DetectionSet(t_ns, 960, 540)


def _policy(**kw) -> SyncPolicy:
    fixed = kw.pop("fixed_rx", None)
    detections = kw.pop("detections_enabled", True)
    return SyncPolicy(SyncConfig(**kw), fixed_rx=fixed, detections_enabled=detections)


def test_nearest_fix_within_age_and_lead_is_used():
    p = _policy(fix_max_age_s=0.5, fix_max_lead_s=0.1, max_wait_s=0.0)
    p.add_rx(_fix(T0), 0.0)
    for dt_ms, lat in [(-400, 1.0), (-100, 2.0), (50, 3.0), (150, 4.0)]:
        p.add_tx(_fix(T0 + dt_ms * MS, lat), 0.0)
    (frame,) = p.add_image(T0, "img", 0.0)
    assert frame.skip_reason is None and frame.tx.lat == 3.0  # 50 ms newer beats 100 ms older
    (frame,) = p.add_image(T0 + 120 * MS, "img", 0.0)
    assert frame.tx.lat == 4.0  # 30 ms newer, within the 0.1 s lead
    (frame,) = p.add_image(T0 - 260 * MS, "img", 0.0)
    assert frame.tx.lat == 1.0  # 140 ms older; the -100 ms fix is 160 ms newer, beyond the lead
    (frame,) = p.add_image(T0 - 460 * MS, "img", 0.0)  # only the -400 ms fix is within 0.1 s lead
    assert frame.tx.lat == 1.0


def test_missing_and_stale_fixes_skip_with_distinct_reasons():
    p = _policy(fix_max_age_s=0.5, max_wait_s=0.0)
    (frame,) = p.add_image(T0, "img", 0.0)
    assert frame.skip_reason == reasons.NO_TX_FIX
    p.add_tx(_fix(T0 - 2 * NS), 0.0)
    (frame,) = p.add_image(T0, "img", 0.0)
    assert frame.skip_reason == reasons.STALE_TX_FIX
    p.add_tx(_fix(T0), 0.0)
    (frame,) = p.add_image(T0, "img", 0.0)
    assert frame.skip_reason == reasons.NO_RX_FIX
    p.add_rx(_fix(T0 - 3 * NS), 0.0)
    (frame,) = p.add_image(T0, "img", 0.0)
    assert frame.skip_reason == reasons.STALE_RX_FIX


def test_fixed_receiver_needs_no_rx_topic():
    p = _policy(max_wait_s=0.0, fixed_rx=_fix(0, lat=10.0))
    p.add_tx(_fix(T0), 0.0)
    (frame,) = p.add_image(T0, "img", 0.0)
    assert frame.skip_reason is None and frame.rx.lat == 10.0


def test_detections_match_by_stamp_within_tolerance():
    p = _policy(detection_tolerance_s=0.005, max_wait_s=0.0)
    p.add_rx(_fix(T0), 0.0)
    p.add_tx(_fix(T0), 0.0)
    for dt in (-30, 4, 7):
        p.add_detections(_dets(T0 + dt * MS), 0.0)
    (frame,) = p.add_image(T0, "img", 0.0)
    assert frame.detections.stamp_ns == T0 + 4 * MS
    (frame,) = p.add_image(T0 + 20 * MS, "img", 0.0)
    assert frame.detections is None  # nothing within 5 ms: answered without boxes


def test_image_waits_for_late_detections_while_the_detector_is_alive():
    p = _policy(max_wait_s=0.1, detector_timeout_s=1.0)
    p.add_rx(_fix(T0), 0.0)
    p.add_tx(_fix(T0), 0.0)
    p.add_detections(_dets(T0 - 33 * MS), 0.0)  # the detector is alive
    assert p.add_image(T0, "img", 0.01) == []
    assert p.pending == 1
    assert p.poll(0.05) == []  # still within the wait
    (frame,) = p.add_detections(_dets(T0), 0.06)
    assert frame.detections.stamp_ns == T0 and frame.waited_s == pytest.approx(0.05)
    assert p.pending == 0


def test_wait_expires_and_the_image_is_answered_with_what_is_there():
    p = _policy(max_wait_s=0.1)
    p.add_rx(_fix(T0), 0.0)
    p.add_tx(_fix(T0), 0.0)
    p.add_detections(_dets(T0 - 33 * MS), 0.0)
    assert p.add_image(T0, "img", 0.0) == []
    (frame,) = p.poll(0.1)
    assert frame.skip_reason is None and frame.detections is None


def test_no_detector_means_no_wait():
    p = _policy(max_wait_s=0.1, detector_timeout_s=1.0)
    p.add_rx(_fix(T0), 0.0)
    p.add_tx(_fix(T0), 0.0)
    (frame,) = p.add_image(T0, "img", 0.0)  # never saw a DetectionArray
    assert frame.detections is None
    p.add_detections(_dets(T0 - 5 * NS), 0.0)
    (frame,) = p.add_image(T0 + 1, "img", 5.0)  # detector silent for 5 s > timeout
    assert frame.detections is None and p.pending == 0
    p2 = _policy(max_wait_s=0.1, detections_enabled=False)
    p2.add_rx(_fix(T0), 0.0)
    p2.add_tx(_fix(T0), 0.0)
    assert len(p2.add_image(T0, "img", 0.0)) == 1


def test_start_up_grace_waits_for_the_first_detections_only_within_the_detector_timeout():
    p = _policy(max_wait_s=0.1, detector_timeout_s=1.0)
    p.expect_detector(10.0)  # activation at t = 10 s
    p.add_rx(_fix(T0), 10.0)
    p.add_tx(_fix(T0), 10.0)
    assert p.add_image(T0, "img", 10.01) == []  # the first image waits for its detections
    (frame,) = p.add_detections(_dets(T0), 10.02)
    assert frame.detections.stamp_ns == T0
    p2 = _policy(max_wait_s=0.1, detector_timeout_s=1.0)
    p2.expect_detector(10.0)
    p2.add_rx(_fix(T0), 11.5)
    p2.add_tx(_fix(T0), 11.5)
    (late,) = p2.add_image(T0, "img", 11.5)  # grace over and no detector: answered at once
    assert late.detections is None
    p3 = _policy(max_wait_s=0.1, detections_enabled=False)
    p3.expect_detector(10.0)
    p3.add_rx(_fix(T0), 10.0)
    p3.add_tx(_fix(T0), 10.0)
    assert len(p3.add_image(T0, "img", 10.0)) == 1  # detections disabled: never waits


def test_image_waits_for_a_fresh_fix_then_uses_it():
    p = _policy(max_wait_s=0.2, fix_max_age_s=0.5)
    p.add_rx(_fix(T0), 0.0)
    p.add_tx(_fix(T0 - NS), 0.0)  # previous fix, too old for this image
    assert p.add_image(T0, "img", 0.0) == []
    (frame,) = p.add_tx(_fix(T0, lat=5.0), 0.01)
    assert frame.tx.lat == 5.0


def test_full_queue_answers_the_oldest_and_flush_answers_the_rest():
    p = _policy(max_wait_s=1.0, max_pending=2)
    assert p.add_image(T0, "a", 0.0) == []
    assert p.add_image(T0 + 1, "b", 0.0) == []
    (oldest,) = p.add_image(T0 + 2, "c", 0.0)
    assert oldest.payload == "a" and oldest.skip_reason == reasons.NO_TX_FIX
    assert p.pending_payloads() == ["b", "c"]  # what the node counts per source as *.pending
    assert [f.payload for f in p.flush(0.0)] == ["b", "c"]
    assert p.pending == 0


def test_every_image_is_answered_exactly_once_in_any_arrival_order():
    rng = random.Random(7)
    for trial in range(30):
        p = _policy(max_wait_s=rng.choice([0.0, 0.02, 0.1]), max_pending=rng.randint(1, 5))
        events = []
        for k in range(40):
            t = T0 + k * 33 * MS
            events += [("image", t), ("tx", t + rng.randint(-80, 80) * MS), ("det", t)]
            if k % 3 == 0:
                events.append(("rx", t))
        rng.shuffle(events)
        answered, now = [], 0.0
        for kind, t in events:
            now += rng.random() * 0.01
            if kind == "image":
                answered += p.add_image(t, t, now)
            elif kind == "tx":
                answered += p.add_tx(_fix(t), now)
            elif kind == "rx":
                answered += p.add_rx(_fix(t), now)
            else:
                answered += p.add_detections(_dets(t), now)
            answered += p.poll(now)
        answered += p.flush(now)
        images = sorted(t for kind, t in events if kind == "image")
        assert sorted(f.payload for f in answered) == images, f"trial {trial}"
        for f in answered:
            if f.skip_reason is None:
                assert abs(f.stamp_ns - f.tx.stamp_ns) <= 0.5 * NS
                assert f.detections is None or f.detections.stamp_ns == f.stamp_ns


def test_check_stamp_against_the_node_clock():
    now = T0
    assert check_stamp(now, now, 5.0, 1.0) is None
    assert check_stamp(0, now, 5.0, 1.0) == reasons.ZERO_STAMP
    assert check_stamp(now + 2 * NS, now, 5.0, 1.0) == reasons.STAMP_FUTURE
    assert check_stamp(now - 6 * NS, now, 5.0, 1.0) == reasons.STAMP_TOO_OLD
    assert check_stamp(now - 6 * NS, now, 0.0, 0.0) is None  # checks disabled
    assert check_stamp(now - 6 * NS, 0, 5.0, 1.0) is None  # a sim clock that has not ticked yet


def test_config_validation():
    with pytest.raises(ValueError, match="fix_max_age_s"):
        SyncConfig(fix_max_age_s=-1.0)
    with pytest.raises(ValueError, match="max_pending"):
        SyncConfig(max_pending=0)


def test_a_new_policy_adopts_the_buffers_of_the_old_one():
    old = _policy(max_wait_s=0.0)
    old.add_rx(_fix(T0), 0.0)
    old.add_tx(_fix(T0, lat=7.0), 0.0)
    old.add_detections(_dets(T0), 0.0)
    new = _policy(max_wait_s=0.0, fix_max_age_s=1.0)
    new.adopt(old)
    (frame,) = new.add_image(T0, "img", 0.0)
    assert frame.skip_reason is None and frame.tx.lat == 7.0 and frame.detections.stamp_ns == T0
    assert new.detector_alive(0.5)
