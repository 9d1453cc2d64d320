"""Radio model and geometry of the synthetic generator, checked against values known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rssi_ros.data.synth import shapes
from rssi_ros.data.synth.config import load_config
from rssi_ros.data.synth.geometry import (
    RoadFrame,
    box_corners,
    compass_to_yaw,
    disc_samples,
    segment_hits_box,
)
from rssi_ros.data.synth.gps import gauss_markov
from rssi_ros.data.synth.radio import BeamCodebook, ShadowingField, fresnel_coverage, relative_azimuth_deg
from rssi_ros.data.synth.rng import Stream, stream
from rssi_ros.data.synth.scene import Actor

WAVELENGTH = 299_792_458.0 / 60e9
RX = np.array([0.0, 0.0, 1.5])


def _wall(east: float, north: float, length: float, width: float, height: float, yaw: float = 0.0) -> Actor:
    """A static single-box object standing on the ground at (east, north)."""
    parts = shapes.PartsBuilder()
    parts.add(0.0, 0.0, 0.0, (length, width, height), (100, 100, 100))
    return Actor(
        actor_id=1,
        class_name="truck",
        length=length,
        width=width,
        height=height,
        start=np.array([east, north]),
        velocity=np.zeros(2),
        yaw=yaw,
        color=np.zeros(3),
        parts=parts.parts(),
        is_static=True,
    )


def _coverage(actor: Actor, tx_east: float, tx_north: float = 0.0, tx_up: float = 1.5) -> float:
    tx = np.array([[tx_east, tx_north, tx_up]])
    return float(fresnel_coverage(RX, tx, actor, np.zeros(1), WAVELENGTH, disc_samples(64))[0])


def test_segment_box_intersection_exact_cases():
    centre, half = np.array([5.0, 0.0, 1.0]), np.array([0.5, 0.5, 1.0])
    start = np.array([[0.0, 0.0, 1.0], [0.0, 0.6, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 2.5]])
    end = np.array([[10.0, 0.0, 1.0], [10.0, 0.6, 1.0], [4.4, 0.0, 1.0], [10.0, 0.0, 2.5]])
    assert segment_hits_box(start, end, centre, half, 0.0).tolist() == [True, False, False, False]
    # Rotating the box by 45 degrees widens its footprint across the segment at y = 0.6.
    assert segment_hits_box(start[1], end[1], centre, half, math.pi / 4)


def test_road_frame_and_compass():
    road = RoadFrame(90.0)  # camera looks east: the road runs north-south, "right" is south
    assert road.forward == pytest.approx([1.0, 0.0])
    assert road.right == pytest.approx([0.0, -1.0])
    assert road.to_enu(2.0, 10.0) == pytest.approx([10.0, -2.0])
    assert compass_to_yaw(0.0) == pytest.approx(math.pi / 2)  # north
    corners = box_corners([0.0, 0.0, 1.0], [2.0, 1.0, 1.0], compass_to_yaw(0.0))
    assert np.ptp(corners[:, 1]) == pytest.approx(4.0)  # length axis points north


def test_codebook_gains_average_to_one_and_steer_to_the_azimuth():
    book = BeamCodebook(64, 16, 120.0)
    az = np.linspace(-89.0, 89.0, 357)
    g = book.gains(az)
    assert g.shape == (357, 64)
    assert g.mean(axis=-1) == pytest.approx(np.ones(357), abs=1e-12)
    inside = np.abs(az) <= 55.0
    best = g[inside].argmax(axis=-1)
    nearest = np.abs(book.steering_deg[None, :] - az[inside, None]).argmin(axis=-1)
    assert np.all(np.abs(best - nearest) <= 1)  # the strongest beam points at the transmitter
    assert np.all(np.diff(best) >= 0)  # beam numbers grow left to right


def test_relative_azimuth():
    enu = np.array([[10.0, 0.0], [10.0, 10.0], [10.0, -10.0], [-10.0, 0.0]])
    assert relative_azimuth_deg(enu, 90.0) == pytest.approx([0.0, -45.0, 45.0, -180.0])


def test_coverage_full_partial_and_none():
    wall = _wall(10.0, 0.0, 0.5, 4.0, 4.0)  # tall, wide: covers the whole zone between Rx and Tx
    assert _coverage(wall, 20.0) == 1.0
    assert _coverage(wall, 8.0) == 0.0  # the transmitter stands in front of it
    beside = _wall(10.0, 2.5, 0.5, 4.0, 4.0)  # its edge 0.5 m from the ray: the zone (r ~ 0.17 m) is clear
    assert _coverage(beside, 20.0) == 0.0
    low = _wall(10.0, 0.0, 0.5, 4.0, 1.5)  # top exactly at ray height: cuts the lower half of the zone
    assert _coverage(low, 20.0) == pytest.approx(0.5, abs=0.1)
    grazing = _wall(10.0, 2.0 + 0.1, 0.5, 4.0, 4.0)  # edge 0.1 m from the ray: a sliver of the zone
    assert 0.0 < _coverage(grazing, 20.0) < 0.5


def test_shadowing_field_is_seeded_smooth_and_has_the_configured_spread():
    cfg = load_config(None, ["radio.shadowing_std_db=2.0", "radio.shadowing_correlation_m=4.0"]).radio
    field = ShadowingField.draw(3, cfg)
    again = ShadowingField.draw(3, cfg)
    pts = np.stack(np.meshgrid(np.linspace(-200, 200, 81), np.linspace(-200, 200, 81)), -1).reshape(-1, 2)
    assert np.array_equal(field(pts), again(pts))
    assert not np.array_equal(field(pts), ShadowingField.draw(4, cfg)(pts))
    assert 1.4 < field(pts).std() < 2.6
    near = field(pts + np.array([0.2, 0.0]))
    assert np.corrcoef(field(pts), near)[0, 1] > 0.99  # 0.2 m apart: almost the same value
    off = load_config(None, ["radio.shadowing_std_db=0"]).radio
    assert np.all(ShadowingField.draw(3, off)(pts) == 0.0)


def test_gauss_markov_std_and_correlation():
    times = np.arange(20000) * 0.1
    x = gauss_markov(stream(1, Stream.GPS, 1), times, 2.0, 1.0)
    assert x.std(axis=0) == pytest.approx([2.0, 2.0], rel=0.1)
    lag = 10  # 1 s = one correlation time
    r = np.corrcoef(x[:-lag, 0], x[lag:, 0])[0, 1]
    assert r == pytest.approx(math.exp(-1.0), abs=0.05)
    assert np.all(gauss_markov(stream(1, Stream.GPS, 1), times, 0.0, 1.0) == 0.0)


def test_streams_are_independent_of_each_other_and_reproducible():
    a = stream(5, Stream.TRAFFIC, 3).random(4)
    assert np.array_equal(a, stream(5, Stream.TRAFFIC, 3).random(4))
    assert not np.array_equal(a, stream(5, Stream.TRAFFIC, 4).random(4))
    assert not np.array_equal(a, stream(5, Stream.MEASUREMENT, 3).random(4))
    with pytest.raises(ValueError):
        stream(-1, Stream.SCENE)
