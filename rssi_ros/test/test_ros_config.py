"""The parameter table, the shipped predictor.yaml and the node's descriptors agree."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rssi_ros.ros.config import PARAMETERS, SPECS, Settings, as_declared_type, defaults

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


def test_combinations_are_checked():
    v = defaults()
    v["tx_selection.mode"] = "projection"
    with pytest.raises(ValueError, match="camera_yaml"):
        Settings.from_values(v)
    v = defaults()
    v["rx.fixed"] = True  # at the default 0/0: a forgotten position, not a basestation
    with pytest.raises(ValueError, match=r"set rx\.latitude/rx\.longitude"):
        Settings.from_values(v)
    v["rx.latitude"], v["rx.longitude"] = 33.42, 0.0  # one of them set is a real place
    assert Settings.from_values(v).fixed_rx.lat == 33.42


def test_whole_numbers_become_floats_only_for_float_parameters():
    assert as_declared_type("rx.latitude", 33) == 33.0 and type(as_declared_type("rx.latitude", 33)) is float
    assert as_declared_type("threads", 2) == 2 and type(as_declared_type("threads", 2)) is int
    assert as_declared_type("rx.latitude", True) is True  # a bool is no number here (and is refused)
    assert as_declared_type("rx.latitude", "33") == "33"
    assert as_declared_type("not.a.parameter", 3) == 3


def test_whole_numbers_for_float_parameters_at_start_up_and_at_run_time(context, tmp_path):
    """The node's own path: `-p rx.latitude:=33` and `latitude: 33` in a YAML file are integers to ROS."""
    from rclpy.parameter import Parameter

    from rssi_ros.ros.node import PredictorNode

    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"/**": {"ros__parameters": {"rx": {"longitude": -111}}}}))
    args = ["--ros-args", "-p", "rx.fixed:=true", "-p", "rx.latitude:=33", "--params-file", str(params)]
    node = PredictorNode(context=context, cli_args=args)
    try:
        for name, value in (("rx.latitude", 33.0), ("rx.longitude", -111.0)):
            p = node.get_parameter(name)
            assert p.type_ == Parameter.Type.DOUBLE and p.value == value and type(p.value) is float
        assert node.diag.info["lifecycle.state"] == "active" and node.policy.fixed_rx.lon == -111.0
        (result,) = node.set_parameters([Parameter("sync.max_wait_s", value=1)])
        assert result.successful, result.reason
        assert node.get_parameter("sync.max_wait_s").type_ == Parameter.Type.DOUBLE
        assert node.policy.config.max_wait_s == 1.0
        assert not node.set_parameters([Parameter("sync.max_wait_s", value="1")])[0].successful
    finally:
        node.destroy_node()


def test_a_start_up_value_of_the_wrong_type_is_one_line_naming_the_parameter(context):
    from rssi_ros.ros.node import PredictorNode
    from rssi_ros.ros.parameters import ParameterError

    with pytest.raises(ParameterError) as info:
        PredictorNode(context=context, cli_args=["--ros-args", "-p", "rx.latitude:=north"])
    assert str(info.value) == "parameter rx.latitude: rx.latitude must be a float, got str"


def test_predictor_command_exits_with_the_message_not_a_traceback(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "ROS_LOG_DIR": str(tmp_path)}
    argv = [sys.executable, "-m", "rssi_ros", "predictor", "--ros-args", "-p", "sync.max_wait_s:=soon"]
    proc = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2, proc.stderr
    assert "parameter sync.max_wait_s: sync.max_wait_s must be a float, got str" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_descriptors_carry_ranges_and_read_only_flags():
    from rssi_ros.ros.parameters import descriptor as _descriptor

    d = _descriptor(SPECS["sync.max_wait_s"])
    assert not d.read_only and d.floating_point_range[0].to_value == SPECS["sync.max_wait_s"].range[1]
    d = _descriptor(SPECS["qos.image.depth"])
    assert d.read_only and d.integer_range[0].from_value == 1
    assert "best_effort" in _descriptor(SPECS["qos.fix.reliability"]).description
