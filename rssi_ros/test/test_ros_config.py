"""The parameter table, the shipped predictor.yaml and the node's descriptors agree."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rssi_ros.ros.config import PARAMETERS, SPECS, Settings, defaults

YAML = Path(__file__).resolve().parents[1] / "config" / "predictor.yaml"


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, name + "."))
        else:
            out[name] = v
    return out


def test_predictor_yaml_lists_every_parameter_with_its_default_and_type():
    doc = yaml.safe_load(YAML.read_text())
    (node_params,) = doc.values()
    values = _flatten(node_params["ros__parameters"])
    assert set(values) == set(SPECS)
    for name, value in values.items():
        default = SPECS[name].default
        assert type(value) is type(default), f"{name}: {value!r} in YAML is not a {type(default).__name__}"
        assert value == default, name
    text = YAML.read_text()
    for spec in PARAMETERS:  # documented: the description is in the file
        assert spec.description.split(";")[0][:40] in text, spec.name


def test_defaults_build_settings():
    s = Settings.from_values(defaults())
    assert s.fixed_rx is None and s.sync.max_wait_s == SPECS["sync.max_wait_s"].default
    assert s.tx_selection.mode == "auto"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("sync.fix_max_age_s", -1.0, "range|lie in"),
        ("qos.image.reliability", "sometimes", "one of"),
        ("backend", "tensorrt", "one of"),
        ("camera.max_pixels", 0, "lie in"),
        ("rx.latitude", 91.0, "lie in"),
        ("autostart", "yes", "must be a bool"),
        ("sync.max_wait_s", float("nan"), "finite"),
    ],
)
def test_bad_values_are_refused_with_a_message(name, value, message):
    v = defaults()
    v[name] = value
    with pytest.raises(ValueError, match=message):
        Settings.from_values(v)


def test_combinations_are_checked_and_ints_are_accepted_for_floats():
    v = defaults()
    v["tx_selection.mode"] = "projection"
    with pytest.raises(ValueError, match="camera_yaml"):
        Settings.from_values(v)
    v = defaults()
    v["rx.fixed"], v["rx.latitude"], v["rx.longitude"] = True, 33, -111
    assert Settings.from_values(v).fixed_rx.lat == 33.0


def test_descriptors_carry_ranges_and_read_only_flags():
    pytest.importorskip("rclpy", reason="rclpy not installed")
    from rssi_ros.ros.node import _descriptor

    d = _descriptor(SPECS["sync.max_wait_s"])
    assert not d.read_only and d.floating_point_range[0].to_value == SPECS["sync.max_wait_s"].range[1]
    d = _descriptor(SPECS["qos.image.depth"])
    assert d.read_only and d.integer_range[0].from_value == 1
    assert "best_effort" in _descriptor(SPECS["qos.fix.reliability"]).description
