"""Transmitter selection: detector flag, class name, and GPS projection with a gate."""

from __future__ import annotations

import pytest

from rssi_ros.data.camera import CameraModel
from rssi_ros.data.sample import Box
from rssi_ros.physics.geodesy import offset_latlon
from rssi_ros.ros.tx_selection import (
    SELECTION_CLASS,
    SELECTION_FLAG,
    SELECTION_NONE,
    SELECTION_PROJECTION,
    TxSelectionConfig,
    TxSelector,
)

BS = (33.42035, -111.92915)
# Looking east from 5 m, 90 degree field of view, 960x540: f = 480 px.
CAM = CameraModel.from_fov(960, 540, 90.0, *BS, height_m=5.0, heading_deg=90.0)


def _flags(choice) -> list[bool]:
    return [b.is_transmitter for b in choice.boxes]


def test_flag_mode_keeps_exactly_the_most_confident_flagged_box():
    boxes = [
        Box("car", 0.2, 0.5, 0.1, 0.1, 0.6, True),
        Box("car", 0.6, 0.5, 0.1, 0.1, 0.9, True),
        Box("bus", 0.8, 0.5, 0.1, 0.1),
    ]
    choice = TxSelector(TxSelectionConfig("flag")).select(boxes, *BS)
    assert choice.selection == SELECTION_FLAG and choice.index == 1
    assert _flags(choice) == [False, True, False]
    none = TxSelector(TxSelectionConfig("flag")).select([Box("car", 0.5, 0.5, 0.1, 0.1)], *BS)
    assert none.selection == SELECTION_NONE and _flags(none) == [False]


def test_class_mode_takes_the_most_confident_box_of_that_class():
    boxes = [
        Box("car", 0.2, 0.5, 0.1, 0.1, 0.9),
        Box("Transmitter", 0.6, 0.5, 0.1, 0.1, 0.4),
        Box("transmitter", 0.7, 0.5, 0.1, 0.1, 0.8),
    ]
    choice = TxSelector(TxSelectionConfig("class", class_name="transmitter")).select(boxes, *BS)
    assert choice.selection == SELECTION_CLASS and _flags(choice) == [False, False, True]
    assert (
        TxSelector(TxSelectionConfig("class", class_name="bus")).select(boxes, *BS).selection
        == SELECTION_NONE
    )


def test_none_mode_and_no_boxes_clear_every_flag():
    boxes = [Box("car", 0.5, 0.5, 0.1, 0.1, 1.0, True)]
    assert _flags(TxSelector(TxSelectionConfig("none")).select(boxes, *BS)) == [False]
    assert TxSelector(TxSelectionConfig()).select([], *BS).selection == SELECTION_NONE


def _box_at(u: float, v: float, w_px: float, h_px: float, name: str = "car", score: float = 0.9) -> Box:
    return Box(name, u / CAM.width, v / CAM.height, w_px / CAM.width, h_px / CAM.height, score)


def test_projection_picks_the_vehicle_box_around_the_projected_fix():
    tx = offset_latlon(*BS, 40.0, 3.0)  # 40 m east, 3 m north: left of the optical axis
    selector = TxSelector(TxSelectionConfig("projection", tx_height_m=1.0), CAM)
    u, v = (c * s for c, s in zip(selector.project(*tx), (CAM.width, CAM.height), strict=True))
    # 480 - 480 * 3/40 = 444; v = 270 + 480 * 4/40 = 318 (1 m above ground, camera at 5 m).
    assert u == pytest.approx(444.0, abs=0.5) and v == pytest.approx(318.0, abs=0.5)
    # A 1.6 m vehicle at 40 m depth is 480 * 1.6 / 40 = 19.2 px tall; the boxes below fit that.
    assert selector.expected_height_px(*tx) == pytest.approx(19.2, rel=1e-3)
    boxes = [
        _box_at(u, v, 20, 20, "person"),  # right on the point but not a vehicle
        _box_at(u + 200, v, 40, 20),  # another car, far away
        _box_at(u + 20, v + 5, 50, 24),  # contains the point
        _box_at(u - 40, v, 20, 20),  # near but outside
    ]
    choice = selector.select(boxes, *tx)
    assert choice.selection == SELECTION_PROJECTION and choice.index == 2
    assert choice.distance_px == 0.0 and _flags(choice) == [False, False, True, False]


def test_projection_gate_and_points_behind_the_camera():
    tx = offset_latlon(*BS, 40.0, 0.0)
    selector = TxSelector(TxSelectionConfig("projection", gate_px=25.0), CAM)
    u, v = (c * s for c, s in zip(selector.project(*tx), (CAM.width, CAM.height), strict=True))
    near = [_box_at(u + 30 + 10, v, 20, 20)]  # 30 px from the point to the box edge
    assert selector.select(near, *tx).selection == SELECTION_NONE
    wider = TxSelector(TxSelectionConfig("projection", gate_px=35.0), CAM).select(near, *tx)
    assert wider.selection == SELECTION_PROJECTION and wider.distance_px == pytest.approx(30.0, abs=0.01)
    behind = offset_latlon(*BS, -40.0, 0.0)
    assert selector.project(*behind) is None
    assert selector.select([_box_at(480, 300, 100, 100)], *behind).selection == SELECTION_NONE


def test_auto_prefers_flags_then_projection_then_class():
    tx = offset_latlon(*BS, 40.0, 0.0)
    flagged = [_box_at(100, 100, 20, 20), Box("car", 0.9, 0.9, 0.05, 0.05, 0.5, True)]
    auto = TxSelector(TxSelectionConfig("auto", class_name="car"), CAM)
    assert auto.select(flagged, *tx).selection == SELECTION_FLAG
    u, v = (c * s for c, s in zip(auto.project(*tx), (CAM.width, CAM.height), strict=True))
    assert auto.select([_box_at(u, v, 40, 20)], *tx).selection == SELECTION_PROJECTION
    no_camera = TxSelector(TxSelectionConfig("auto", class_name="car"))
    assert no_camera.select([_box_at(u, v, 40, 20)], *tx).selection == SELECTION_CLASS
    assert (
        TxSelector(TxSelectionConfig("auto")).select([_box_at(u, v, 40, 20)], *tx).selection == SELECTION_NONE
    )


def test_projection_rejects_a_bus_in_front_of_the_car_by_its_size():
    tx = offset_latlon(*BS, 40.0, 0.0)
    selector = TxSelector(TxSelectionConfig("projection"), CAM)
    u, v = (c * s for c, s in zip(selector.project(*tx), (CAM.width, CAM.height), strict=True))
    bus = _box_at(u, v - 20, 200, 80, "bus")  # 80 px tall: a nearer, bigger vehicle hiding the car
    car = _box_at(u + 45, v, 30, 18)  # beside the point, the right size
    choice = selector.select([bus, car], *tx)
    assert choice.index == 1 and choice.distance_px == pytest.approx(30.0, abs=0.5)
    assert selector.select([bus], *tx).selection == SELECTION_NONE
    no_check = TxSelector(TxSelectionConfig("projection", size_tolerance=0.0), CAM)
    assert no_check.select([bus, car], *tx).index == 0  # without the check the bus contains the point


def test_projection_agrees_with_the_generated_scene_labels(tmp_path):
    """Camera model and projection are the generator's: the labelled transmitter box is found."""
    from dataclasses import replace

    from rssi_ros.data.readers import read_dataset
    from rssi_ros.data.synth import generate_scene

    csv = generate_scene(tmp_path / "scene", frames=120, seed=4)
    selector = TxSelector(
        TxSelectionConfig("projection", tx_height_m=0.75), CameraModel.from_yaml(csv.parent / "scenario.yaml")
    )
    in_view = agree = not_in_view = false_pick = 0
    for s in read_dataset(csv).samples:
        truth = [i for i, b in enumerate(s.boxes) if b.is_transmitter]
        choice = selector.select([replace(b, is_transmitter=False) for b in s.boxes], s.tx_lat, s.tx_lon)
        if truth:
            in_view += 1
            agree += choice.index == truth[0]
        else:
            not_in_view += 1
            false_pick += choice.index is not None
    assert in_view >= 40 and not_in_view >= 20
    assert agree / in_view >= 0.95
    # Frames without a label are mostly a car hidden behind another vehicle; few boxes pass as it.
    assert false_pick / not_in_view <= 0.15


def test_configuration_errors_are_clear():
    with pytest.raises(ValueError, match="mode"):
        TxSelectionConfig("nearest")
    with pytest.raises(ValueError, match="class_name"):
        TxSelectionConfig("class")
    with pytest.raises(ValueError, match="camera model"):
        TxSelector(TxSelectionConfig("projection"))
    with pytest.raises(ValueError, match="size_tolerance"):
        TxSelectionConfig(size_tolerance=0.5)
