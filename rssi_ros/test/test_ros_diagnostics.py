"""Diagnostics aggregation: counters that add up, exact percentiles, rates per period, levels."""

from __future__ import annotations

import math

import pytest

from rssi_ros.ros.diagnostics import ERROR, OK, WARN, DiagnosticsAggregator, identities, percentiles


def test_percentiles_are_exact_for_known_data():
    p50, p99, worst = percentiles(float(x) for x in range(1, 101))
    assert (p50, p99, worst) == (pytest.approx(50.5), pytest.approx(99.01), 100.0)
    assert all(math.isnan(v) for v in percentiles([]))


def test_counters_rates_and_snapshot_values():
    d = DiagnosticsAggregator()
    d.snapshot(0.0)  # starts the first period
    for _ in range(10):
        d.received("images")
    for ms in range(1, 8):
        d.answered(float(ms))
    d.skipped("no_tx_fix")
    d.skipped("no_tx_fix")
    d.received("tx_fix")
    d.rejected("tx_fix", "non_finite")
    d.info["model.id"] = "m@1234"
    for _ in range(3):
        d.received("fix_triggers")
    d.answered(1.0, "fix_triggers")
    d.count("fix_triggers.skipped.no_model")
    snap = d.snapshot(2.0, pending={"images": 1, "fix_triggers": 1})
    v = snap.as_dict()
    assert v["images.received"] == "10" and v["images.answered"] == "7"
    assert v["images.skipped.no_tx_fix"] == "2" and v["images.pending"] == "1"
    assert int(v["images.answered"]) + d.total("images.skipped.") + int(v["images.pending"]) == 10
    # Fix-triggered frames have their own counters: images.* are not disturbed by them.
    assert (v["fix_triggers.received"], v["fix_triggers.answered"], v["fix_triggers.pending"]) == (
        "3",
        "1",
        "1",
    )
    assert (
        v["rate_hz.images"] == "5.00" and v["rate_hz.estimates"] == "4.00" and v["rate_hz.tx_fix"] == "0.50"
    )
    assert v["latency_ms.p50"] == "3.500" and v["latency_ms.max"] == "7.000"  # 1..7 ms and 1 ms
    assert v["tx_fix.rejected.non_finite"] == "1" and v["model.id"] == "m@1234"
    assert snap.level == OK
    # Counters are cumulative, rates restart each period.
    v2 = d.snapshot(3.0).as_dict()
    assert v2["images.received"] == "10" and v2["rate_hz.images"] == "0.00"


def test_levels():
    d = DiagnosticsAggregator()
    d.info["model.load_error"] = "cannot load model 'x.pt': corrupt"
    snap = d.snapshot(0.0, model_loaded=False)
    assert snap.level == ERROR and "corrupt" in snap.message
    assert d.snapshot(1.0).level == WARN  # a whole period without images
    for _ in range(4):
        d.received("images")
    d.answered(1.0)
    snap = d.snapshot(2.0)
    assert snap.level == WARN and "answered 1 of 4" in snap.message


def test_identities_hold_and_expose_a_miscount():
    d = DiagnosticsAggregator()
    for stream in ("images", "fix_triggers", "rx_fix", "tx_fix", "detections"):
        for _ in range(3):
            d.received(stream)
    d.answered(1.0)
    d.skipped("stale_tx_fix")
    d.answered(1.0, "fix_triggers")
    d.count("fix_triggers.skipped.internal_error")
    for stream in ("rx_fix", "tx_fix", "detections"):
        d.count(f"{stream}.accepted", 2)
        d.rejected(stream, "zero_stamp")
    values = d.snapshot(0.0, pending={"images": 1, "fix_triggers": 1}).as_dict()
    checks = identities(values)
    assert set(checks) == {"images", "fix_triggers", "rx_fix", "tx_fix", "detections"}
    assert all(left == right == 3 for left, right in checks.values()), checks
    d.received("images")  # received, never answered, skipped or pending: a lost image
    assert identities(d.snapshot(1.0, pending={"images": 1, "fix_triggers": 1}).as_dict())["images"] == (4, 3)


def _answered_fix_trigger(d: DiagnosticsAggregator) -> None:
    d.received("fix_triggers")
    d.answered(1.0, "fix_triggers")


def test_camera_disabled_is_ok_and_problems_and_internal_errors_raise_the_level():
    d = DiagnosticsAggregator()
    d.snapshot(0.0)
    _answered_fix_trigger(d)
    snap = d.snapshot(1.0, camera_enabled=False)  # a period without images: expected, not a warning
    assert snap.level == OK and "camera disabled" in snap.message
    _answered_fix_trigger(d)
    assert d.snapshot(2.0).level == WARN  # with the camera enabled the same period warns
    d.count("internal_errors.image")
    _answered_fix_trigger(d)
    snap = d.snapshot(3.0, camera_enabled=False)
    assert snap.level == WARN and "1 internal errors" in snap.message
    _answered_fix_trigger(d)
    assert d.snapshot(4.0, camera_enabled=False).level == OK  # per period
    d.problems["detections"] = "vision_msgs does not import"
    snap = d.snapshot(5.0, camera_enabled=False)
    assert snap.level == ERROR and "vision_msgs does not import" in snap.message
    snap = d.snapshot(6.0, model_loaded=False)
    assert snap.level == ERROR and "checkpoint" in snap.message and "vision_msgs" in snap.message


def test_camera_disabled_warns_when_fix_triggers_are_missing_or_mostly_unanswered():
    """Without a camera the Tx fixes are what is answered: the image rules apply to them, per period."""
    d = DiagnosticsAggregator()
    first = d.snapshot(0.0, camera_enabled=False)  # no whole period yet: nothing to judge
    assert first.level == OK
    snap = d.snapshot(1.0, camera_enabled=False)
    assert snap.level == WARN and "camera disabled" in snap.message and "no Tx fixes received" in snap.message
    for _ in range(4):
        d.received("fix_triggers")
    d.answered(1.0, "fix_triggers")
    d.count("fix_triggers.skipped.no_rx_fix", 3)
    snap = d.snapshot(2.0, camera_enabled=False)
    assert snap.level == WARN and "answered 1 of 4 Tx fixes" in snap.message
    assert snap.as_dict()["rate_hz.fix_triggers"] == "4.00"
    for _ in range(2):
        _answered_fix_trigger(d)
    d.received("fix_triggers")  # half answered is enough
    snap = d.snapshot(3.0, camera_enabled=False)
    assert snap.level == OK and "camera disabled" in snap.message
    # Images and their estimates do not stand in for fix triggers, nor fix triggers for images.
    for _ in range(2):
        d.received("images")
        d.answered(1.0)
    assert d.snapshot(4.0, camera_enabled=False).level == WARN
    for _ in range(2):
        d.received("images")
        _answered_fix_trigger(d)
    assert "answered 0 of 2 images" in d.snapshot(5.0).message
