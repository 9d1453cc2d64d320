"""In-memory labelled samples for model, trainer and predictor tests (no files, no reader needed).

The label follows a known rule so a model can learn it: RSSI = -(20 log10 d + SH) with SH rising
with the number of distractor boxes and with the brightness of the image, plus optional noise.
"""

from __future__ import annotations

import numpy as np

from rssi_ros.data.sample import Box, Sample
from rssi_ros.physics.geodesy import offset_latlon

BS_LAT, BS_LON = 33.42035, -111.92915
IMAGE_HW = (36, 64)


def make_samples(
    n: int,
    seed: int = 0,
    with_image: bool = True,
    with_boxes: bool = True,
    noise_db: float = 0.0,
    drives: int = 4,
) -> list[Sample]:
    rng = np.random.default_rng(seed)
    out: list[Sample] = []
    for i in range(n):
        east, north = rng.uniform(-80, 80), rng.uniform(5, 120)
        lat, lon = offset_latlon(BS_LAT, BS_LON, east, north)
        distance = float(np.hypot(east, north))
        n_distractors = int(rng.integers(0, 4))
        brightness = int(rng.integers(0, 256))
        image = None
        if with_image:
            image = rng.integers(0, 40, (*IMAGE_HW, 3), dtype=np.uint8)
            image[8:28, 16:48] = brightness
        boxes = None
        if with_boxes:
            boxes = [Box("car", float(rng.uniform(0.2, 0.8)), 0.6, 0.1, 0.08, is_transmitter=True)]
            boxes += [
                Box(
                    str(rng.choice(["truck", "bus", "person"])), float(rng.uniform(0.05, 0.95)), 0.5, 0.2, 0.3
                )
                for _ in range(n_distractors)
            ]
        sh = 10.0 + 2.0 * n_distractors + 3.0 * brightness / 255.0 + float(rng.normal(0, noise_db))
        rssi = -(20.0 * np.log10(distance) + sh)
        out.append(
            Sample(
                rx_lat=BS_LAT,
                rx_lon=BS_LON,
                tx_lat=float(lat),
                tx_lon=float(lon),
                image=image,
                boxes=boxes,
                rssi_db=float(rssi),
                scenario="test",
                index=i,
                seq_index=i % drives,
                stamp=float(i) * 0.1,
            )
        )
    return out


def write_small_scene(out_dir, frames: int = 48, seed: int = 1):
    """A generated scene in the official layout (JPEGs, YOLO labels, powers, GPS): path of its CSV."""
    from rssi_ros.data.synth.config import SynthConfig
    from rssi_ros.data.synth.generator import generate_scene

    return generate_scene(out_dir, SynthConfig(), frames=frames, seed=seed)


def small_run_config(path, scene, cache_root, **extra) -> None:
    """A YAML training config for subprocess runs: 32x32 images, two short stages, one thread."""
    import yaml

    config = {
        "threads": 1,
        "progress": False,
        "preprocess": {"image_size": 32},
        "data": {"paths": [str(scene)], "cache_root": str(cache_root)},
        "stage1": {"epochs": 4, "batch_size": 16},
        "stage2": {"epochs": 6, "batch_size": 8},
    }
    for key, value in extra.items():
        section, name = key.split("__")
        config.setdefault(section, {})[name] = value
    path.write_text(yaml.safe_dump(config))
