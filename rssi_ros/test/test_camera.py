"""Pinhole projection: the optical axis hits the principal point, left/right/up/down are right."""

from __future__ import annotations

import numpy as np
import pytest

from rssi_ros.data.camera import CameraModel
from rssi_ros.physics.geodesy import offset_latlon

BS = (33.42035, -111.92915)


def _cam(heading: float = 90.0, pitch: float = 0.0) -> CameraModel:
    return CameraModel.from_fov(960, 540, 90.0, *BS, height_m=5.0, heading_deg=heading, pitch_deg=pitch)


def test_focal_length_from_fov():
    cam = _cam()
    assert cam.fx == pytest.approx(480.0)
    assert (cam.cx, cam.cy) == (480.0, 270.0)


def test_point_on_optical_axis_projects_to_principal_point():
    cam = _cam(heading=90.0)
    u, v, front = cam.project_enu([50.0, 0.0, 5.0])  # 50 m east, at camera height
    assert front and u == pytest.approx(480.0) and v == pytest.approx(270.0)


def test_directions_in_the_image():
    cam = _cam(heading=0.0)  # looking north: east is to the right
    u, v, _ = cam.project_enu(np.array([[10.0, 20.0, 5.0], [-10.0, 20.0, 5.0], [0.0, 20.0, 0.0]]))
    assert u[0] == pytest.approx(480 + 480 * 10 / 20) and u[1] == pytest.approx(480 - 240)
    assert v[2] == pytest.approx(270 + 480 * 5 / 20)  # ground point lies below the horizon
    _, _, front = cam.project_enu([0.0, -20.0, 5.0])
    assert not front


def test_pitch_down_moves_the_horizon_up():
    u0, v0, _ = _cam(heading=0.0, pitch=0.0).project_enu([0.0, 100.0, 5.0])
    _, v1, _ = _cam(heading=0.0, pitch=10.0).project_enu([0.0, 100.0, 5.0])
    assert v1 < v0 and u0 == pytest.approx(480.0)


def test_latlon_projection_matches_enu():
    cam = _cam(heading=45.0, pitch=5.0)
    lat, lon = offset_latlon(*BS, 30.0, 25.0)
    u1, v1, _ = cam.project_latlon(lat, lon, 1.0)
    u2, v2, _ = cam.project_enu([30.0, 25.0, 1.0])
    assert u1 == pytest.approx(u2, abs=0.05) and v1 == pytest.approx(v2, abs=0.05)


def test_round_trip_through_dict_and_validation():
    cam = _cam()
    assert CameraModel.from_dict(cam.to_dict()) == cam
    with pytest.raises(ValueError, match="lacks"):
        CameraModel.from_dict({"width": 10})
    with pytest.raises(ValueError):
        CameraModel.from_fov(960, 540, 90.0, float("nan"), 0.0, 5.0, 0.0)
