"""Synthetic DeepSense-format scenes whose physics is known: images, boxes, 64-beam powers, GPS.

`generate_scene(out_dir, config, frames, seed)` writes a scenario in the official layout (see
`writer.py`) and returns its CSV; `python -m rssi_ros synth` is the command-line front end.
"""

from rssi_ros.data.synth.config import FixedObject, SynthConfig, load_config
from rssi_ros.data.synth.generator import generate_scene

__all__ = ["FixedObject", "SynthConfig", "generate_scene", "load_config"]
