"""Settings of the generator (YAML, overrides, validation) and its command-line front ends."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
import yaml

from rssi_ros.cli import main
from rssi_ros.data.synth import FixedObject, SynthConfig, generate_scene, load_config

SHIPPED = Path(__file__).resolve().parents[1] / "config" / "synth.yaml"
TINY = ["--set", "site.image_width=320", "--set", "site.image_height=180", "--no-progress"]


def test_shipped_yaml_equals_the_dataclass_defaults():
    assert load_config(SHIPPED) == SynthConfig()


def test_partial_yaml_and_overrides(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "radio": {"path_loss_exponent": 2.4, "blockage_loss_db": {"person": 15.0}},
                "fixed_objects": [{"class_name": "bus", "east_m": 20.0, "north_m": 3.0}],
            }
        )
    )
    config = load_config(path, ["radio.noise_floor_db=null", "traffic.signs=2"])
    assert config.radio.path_loss_exponent == 2.4
    assert config.radio.blockage_loss_db["person"] == 15.0
    assert config.radio.blockage_loss_db["truck"] == SynthConfig().radio.blockage_loss_db["truck"]
    assert config.radio.noise_floor_db is None and config.traffic.signs == 2
    assert config.fixed_objects == [FixedObject("bus", 20.0, 3.0)]
    assert SynthConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["radio.nosuch=1"], "radio: unknown setting(s) ['nosuch']"),
        (["radio.path_loss_exponent=-1"], "path_loss_exponent must be positive"),
        (["radio.path_loss_exponent=abc"], "expected a number"),
        (["traffic.mean_per_drive={sign: 2}"], "unknown class 'sign'"),
        (["render.class_ids.car=5"], "class_ids.car"),
        (["name=scene"], "scenarioN"),
        (["drive.speed_mps=[9, 3]"], "low <= high"),
        (["fixed_objects=[{class_name: tree, east_m: 1, north_m: 1}]"], "unknown class 'tree'"),
        (["radio"], "key.path=value"),
    ],
)
def test_bad_settings_fail_with_the_key_named(overrides, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        load_config(None, overrides)


def test_unknown_key_in_a_file_is_an_error(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("radio:\n  path_loss_exponant: 2.0\n")
    with pytest.raises(ValueError, match=r"radio: unknown setting\(s\) \['path_loss_exponant'\]"):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"radio: {path_loss_exponent: 2.0\n", "not valid YAML"),  # unclosed flow mapping
        (b"radio:\n  - a\n b: c\n", "not valid YAML"),
        (b"- just\n- a list\n", "expected a mapping of settings"),
        (b"synth: 3\n", "`synth` must be a mapping"),
        (b"radio: {path_loss_exponent: -1}\n", "path_loss_exponent must be positive"),
        (b"radio: {path_loss_exponent: 2.0}  # \xff\xfe\n", "not UTF-8"),
    ],
)
def test_malformed_config_file_is_a_value_error_naming_the_file(tmp_path, text, message):
    path = tmp_path / "broken.yaml"
    path.write_bytes(text)
    with pytest.raises(ValueError, match=re.escape(message)) as err:
        load_config(path)
    assert str(path) in str(err.value)


def test_synth_command_reports_a_malformed_config_without_a_traceback(tmp_path, caplog):
    path = tmp_path / "broken.yaml"
    path.write_text("radio: [unclosed\n")
    out = tmp_path / "scene"
    with caplog.at_level(logging.ERROR):
        assert main(["synth", "--out", str(out), "--frames", "2", "--config", str(path), *TINY]) == 2
    assert "broken.yaml: not valid YAML" in caplog.text
    assert not out.exists() or not any(out.iterdir())


def test_synth_command_writes_a_scene_and_refuses_to_clobber(tmp_path, capsys):
    out = tmp_path / "scene"
    args = ["synth", "--out", str(out), "--frames", "4", "--seed", "3", "--name", "scenario42", *TINY]
    assert main(args) == 0
    assert capsys.readouterr().out.strip() == str(out / "scenario42.csv")
    assert len(list((out / "unit1" / "camera_data").glob("*.jpg"))) == 4
    doc = yaml.safe_load((out / "scenario.yaml").read_text())
    assert doc["name"] == "scenario42" and doc["seed"] == 3 and doc["camera"]["width"] == 320
    assert main(args) == 2  # a scene is already there
    assert main([*args, "--overwrite", "--frames", "2"]) == 0
    assert len(list((out / "unit1" / "camera_data").glob("*.jpg"))) == 2  # the old frames are gone
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    assert main(["synth", "--out", str(other), "--frames", "2", *TINY]) == 2
    assert (other / "notes.txt").read_text() == "mine"
    assert main(["synth", "--out", str(tmp_path / "x"), "--frames", "2", "--set", "radio.bogus=1"]) == 2


def test_generate_scene_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="at least 1"):
        generate_scene(tmp_path / "a", None, 0, 0)
    with pytest.raises(ValueError, match="workers"):
        generate_scene(tmp_path / "b", None, 2, 0, workers=0)


def test_bench_synth_prints_a_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    config = tmp_path / "small.yaml"
    config.write_text("site: {image_width: 320, image_height: 180}\n")
    assert main(["bench", "synth", "--frames", "3", "--config", str(config), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "frames_per_s" in text and "320x180" in text
    result = json.loads(out.read_text())
    assert result["benchmark"] == "synth" and result["target_fps"] == 20.0
    (row,) = result["results"]
    assert row["frames"] == 3 and row["frames_per_s"] > 0
