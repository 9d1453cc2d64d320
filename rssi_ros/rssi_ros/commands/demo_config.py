"""Settings of `python -m rssi_ros demo` (config/demo.yaml holds the same defaults)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rssi_ros.settings import apply_overrides, deep_merge

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
DEFAULT_CONFIG = CONFIG_DIR / "demo.yaml"
# test: the training scene's held-out test frames; new_scene: a scene generated with another seed
REPLAY_SOURCES = ("test", "new_scene")


@dataclass(frozen=True)
class SceneSettings:
    frames: int = 1500
    seed: int = 0
    overrides: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TrainSettings:
    config: str = "train_synthetic.yaml"
    overrides: list[str] = field(default_factory=lambda: ["stage2.epochs=1"])


@dataclass(frozen=True)
class ReplaySettings:
    source: str = "test"
    frames: int = 120
    seed_offset: int = 1000
    storage: str = "mcap"
    rate: float = 1.0
    max_gap_s: float = 0.5
    timeout_s: float = 120.0
    tolerance_db: float = 1e-4
    node_parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoConfig:
    out: str = "runs/demo"
    scene: SceneSettings = field(default_factory=SceneSettings)
    train: TrainSettings = field(default_factory=TrainSettings)
    replay: ReplaySettings = field(default_factory=ReplaySettings)

    def __post_init__(self) -> None:
        if self.scene.frames < 20:
            raise ValueError("scene.frames must be at least 20 (train, validation and test need samples)")
        if self.replay.frames < 1:
            raise ValueError("replay.frames must be at least 1")
        if self.replay.source not in REPLAY_SOURCES:
            raise ValueError(f"replay.source must be one of {REPLAY_SOURCES}, got {self.replay.source!r}")
        if self.replay.storage not in ("sqlite3", "mcap"):
            raise ValueError(f"replay.storage must be sqlite3 or mcap, got {self.replay.storage!r}")
        r = self.replay
        if r.rate < 0 or r.max_gap_s < 0 or r.timeout_s <= 0 or r.tolerance_db <= 0:
            raise ValueError(
                "replay.rate and replay.max_gap_s must be >= 0, replay.timeout_s and replay.tolerance_db > 0"
            )

    def train_config_path(self) -> Path:
        path = Path(self.train.config)
        return path if path.is_absolute() else CONFIG_DIR / path


_SECTIONS = {"scene": SceneSettings, "train": TrainSettings, "replay": ReplaySettings}


def load_demo_config(
    path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()
) -> DemoConfig:
    """Defaults, then the YAML file (any subset), then `key.path=value` overrides; unknown keys fail."""
    values: dict[str, Any] = dataclasses.asdict(DemoConfig())
    if path is not None:
        doc = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(doc, dict):
            raise ValueError(f"{path}: expected a mapping of settings")
        values = deep_merge(values, doc)
    values = apply_overrides(values, overrides)
    unknown = sorted(set(values) - {"out", *_SECTIONS})
    if unknown:
        raise ValueError(f"unknown demo setting(s): {unknown}")
    sections = {}
    for name, cls in _SECTIONS.items():
        section = values.get(name) or {}
        known = {f.name for f in dataclasses.fields(cls)}
        bad = sorted(set(section) - known)
        if bad:
            raise ValueError(f"unknown demo setting(s): {[f'{name}.{k}' for k in bad]}")
        try:
            sections[name] = cls(**section)
        except TypeError as exc:
            raise ValueError(f"demo setting {name}: {exc}") from exc
    return DemoConfig(out=str(values["out"]), **sections)
