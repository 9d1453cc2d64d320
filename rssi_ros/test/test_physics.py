"""Exact values where the maths is known: geodesy, dB conversions, the label decomposition."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rssi_ros.physics import (
    LabelDefinition,
    db_to_linear,
    decompose,
    geodesic_distance_m,
    linear_to_db,
    mean_power_db,
    path_loss_db,
    recombine,
    relative_position,
)
from rssi_ros.physics.geodesy import offset_latlon

WGS84_A = 6378137.0
# Length of one degree of latitude from the equator to 1 degree north on WGS84 (meridian arc).
MERIDIAN_ARC_0_TO_1_DEG = 110574.38855779878

SCENARIO1_BS = (33.42035, -111.92915)


def test_one_degree_of_equator_is_a_times_pi_over_180():
    d = geodesic_distance_m(0.0, 0.0, 0.0, 1.0)
    assert d == pytest.approx(WGS84_A * math.pi / 180.0, abs=1e-6)


def test_meridian_arc_of_one_degree():
    assert geodesic_distance_m(0.0, 10.0, 1.0, 10.0) == pytest.approx(MERIDIAN_ARC_0_TO_1_DEG, abs=1e-4)


def test_distance_is_symmetric_and_zero_on_itself():
    lat, lon = SCENARIO1_BS
    assert geodesic_distance_m(lat, lon, lat, lon) == 0.0
    a = geodesic_distance_m(lat, lon, lat + 1e-3, lon - 2e-3)
    b = geodesic_distance_m(lat + 1e-3, lon - 2e-3, lat, lon)
    assert a == pytest.approx(b, abs=1e-9)


@pytest.mark.parametrize(("east", "north"), [(100.0, 0.0), (0.0, -50.0), (30.0, 40.0), (-120.5, 7.25)])
def test_enu_inverts_a_geodesic_offset(east: float, north: float):
    lat, lon = SCENARIO1_BS
    tx_lat, tx_lon = offset_latlon(lat, lon, east, north)
    rel = relative_position(lat, lon, tx_lat, tx_lon)
    assert float(rel.east_m) == pytest.approx(east, abs=2e-3)
    assert float(rel.north_m) == pytest.approx(north, abs=2e-3)
    assert float(rel.distance_m) == pytest.approx(math.hypot(east, north), abs=1e-6)
    # Earth curvature: a point on the ellipsoid d metres away lies d^2 / 2R below the tangent plane.
    assert float(rel.up_m) == pytest.approx(-(east**2 + north**2) / (2 * 6.371e6), rel=0.01, abs=1e-6)


def test_relative_position_is_vectorised_and_north_is_north():
    lat, lon = SCENARIO1_BS
    rel = relative_position(
        lat, lon, np.array([lat + 1e-4, lat, lat - 1e-4]), np.array([lon, lon + 1e-4, lon])
    )
    assert rel.east_m.shape == (3,)
    assert rel.north_m[0] > 11.0 and abs(rel.east_m[0]) < 1e-6
    assert rel.east_m[1] > 9.0 and abs(rel.north_m[1]) < 1e-3
    assert rel.north_m[2] < -11.0
    assert rel.east_north.shape == (3, 2)


def test_geodesy_rejects_bad_coordinates():
    with pytest.raises(ValueError, match="finite"):
        geodesic_distance_m(float("nan"), 0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="latitude"):
        relative_position(91.0, 0.0, 0.0, 0.0)


def test_db_conversions_are_exact_powers_of_ten():
    assert linear_to_db([1.0, 10.0, 1000.0, 1e-3]).tolist() == [0.0, 10.0, 30.0, -30.0]
    assert db_to_linear([0.0, 20.0, -10.0]) == pytest.approx([1.0, 100.0, 0.1], rel=1e-15)
    x = np.array([3.7e-5, 0.42, 12.0])
    assert db_to_linear(linear_to_db(x)) == pytest.approx(x, rel=1e-12)
    with pytest.raises(ValueError):
        linear_to_db([0.0])
    with pytest.raises(ValueError):
        linear_to_db([-1.0])


def test_rssi_label_averages_linear_powers_not_decibels():
    powers = np.array([[1.0, 10.0, 100.0, 1000.0], [1e-3] * 4])
    rssi = mean_power_db(powers)
    assert rssi[0] == pytest.approx(10 * math.log10(1111.0 / 4), abs=1e-12)
    assert rssi[1] == pytest.approx(-30.0, abs=1e-12)
    # The mean of the dB values (15 dB) is a different, smaller number.
    assert rssi[0] > linear_to_db(powers[0]).mean()
    with pytest.raises(ValueError):
        mean_power_db([[0.0, 0.0]])
    with pytest.raises(ValueError):
        mean_power_db([[1.0, float("nan")]])


def test_path_loss_closed_form_and_clamping():
    definition = LabelDefinition(path_loss_exponent=2.0, min_distance_m=1.0)
    pl, clamped = path_loss_db([100.0, 10.0, 1.0, 0.5, 0.0], definition)
    assert pl.tolist() == [40.0, 20.0, 0.0, 0.0, 0.0]
    assert clamped.tolist() == [False, False, False, True, True]
    pl3, _ = path_loss_db([1000.0], LabelDefinition(path_loss_exponent=3.0))
    assert pl3[0] == pytest.approx(90.0, abs=1e-12)
    with pytest.raises(ValueError):
        path_loss_db([float("inf")], definition)


def test_decomposition_identity_holds_exactly():
    rng = np.random.default_rng(0)
    rssi = rng.uniform(-90, -20, 1000)
    dist = rng.uniform(0, 300, 1000)
    labels = decompose(rssi, dist, LabelDefinition(path_loss_exponent=2.3))
    np.testing.assert_allclose(recombine(labels.path_loss_db, labels.shadow_fading_db), rssi, atol=1e-12)
    np.testing.assert_array_equal(labels.shadow_fading_db, -rssi - labels.path_loss_db)
    assert labels.n_clamped == int(np.count_nonzero(dist < 1.0))
    assert np.all(labels.path_loss_db >= 0)


def test_decompose_known_numbers():
    labels = decompose(-50.0, 100.0, LabelDefinition())
    assert float(labels.path_loss_db) == 40.0
    assert float(labels.shadow_fading_db) == 10.0
    assert float(recombine(40.0, 10.0)) == -50.0


@pytest.mark.parametrize(("n", "dmin"), [(0.0, 1.0), (-1.0, 1.0), (2.0, 0.0), (float("nan"), 1.0)])
def test_label_definition_rejects_nonsense(n: float, dmin: float):
    with pytest.raises(ValueError):
        LabelDefinition(path_loss_exponent=n, min_distance_m=dmin)


def test_label_definition_round_trips():
    d = LabelDefinition(2.7, 0.5)
    assert LabelDefinition.from_dict(d.to_dict()) == d
