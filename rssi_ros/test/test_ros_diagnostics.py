"""Diagnostics aggregation: counters that add up, exact percentiles, rates per period, levels."""

from __future__ import annotations

import math

import pytest

from rssi_ros.ros.diagnostics import ERROR, OK, WARN, DiagnosticsAggregator, percentiles


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
    snap = d.snapshot(2.0, pending=1)
    v = snap.as_dict()
    assert v["images.received"] == "10" and v["images.answered"] == "7"
    assert v["images.skipped.no_tx_fix"] == "2" and v["images.pending"] == "1"
    assert int(v["images.answered"]) + d.total("images.skipped.") + int(v["images.pending"]) == 10
    assert (
        v["rate_hz.images"] == "5.00" and v["rate_hz.estimates"] == "3.50" and v["rate_hz.tx_fix"] == "0.50"
    )
    assert v["latency_ms.p50"] == "4.000" and v["latency_ms.max"] == "7.000"
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
