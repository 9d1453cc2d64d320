"""Object classes the box encoder knows, and the mapping from detector (COCO / YOLO) class ids.

The model one-hot encodes `ClassVocabulary.names`; anything a detector reports that is not in the
vocabulary maps to the catch-all class "other" (counted by the caller), so unknown classes degrade
gracefully instead of being dropped or crashing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

OTHER = "other"

DEFAULT_CLASS_NAMES: tuple[str, ...] = (
    "car",
    "truck",
    "bus",
    "motorcycle",
    "bicycle",
    "person",
    "sign",
    OTHER,
)

# COCO-80 ids (what YOLO detectors trained on COCO emit) of the classes above. The synthetic
# generator writes its YOLO label files with these ids too, so one reader serves both.
COCO_IDS: dict[int, str] = {
    0: "person",
    1: "bicycle",
    2: "car",
    3: "motorcycle",
    5: "bus",
    7: "truck",
    9: "sign",  # traffic light
    11: "sign",  # stop sign
}

# Names detectors commonly use for the same things.
ALIASES: dict[str, str] = {
    "motorbike": "motorcycle",
    "pedestrian": "person",
    "cyclist": "bicycle",
    "stop sign": "sign",
    "stop_sign": "sign",
    "traffic light": "sign",
    "traffic_light": "sign",
    "traffic sign": "sign",
    "traffic_sign": "sign",
    "van": "car",
}

VEHICLE_CLASSES: frozenset[str] = frozenset({"car", "truck", "bus", "motorcycle"})


@dataclass(frozen=True)
class ClassVocabulary:
    """The ordered class list of a model (saved in its checkpoint)."""

    names: tuple[str, ...] = DEFAULT_CLASS_NAMES
    yolo_ids: Mapping[int, str] = field(default_factory=lambda: dict(COCO_IDS))

    def __post_init__(self) -> None:
        if OTHER not in self.names:
            raise ValueError(f"the class list must contain the catch-all class {OTHER!r}")
        if len(set(self.names)) != len(self.names):
            raise ValueError("class names must be unique")

    def __len__(self) -> int:
        return len(self.names)

    def canonical(self, name: str) -> tuple[str, bool]:
        """Map a detector's class name to the vocabulary; the flag says whether it was known."""
        key = name.strip().lower()
        key = ALIASES.get(key, key)
        if key in self.names:
            return key, True
        return OTHER, False

    def index(self, name: str) -> int:
        return self.names.index(self.canonical(name)[0])

    def from_yolo_id(self, class_id: int) -> tuple[str, bool]:
        name = self.yolo_ids.get(int(class_id))
        if name is None:
            return OTHER, False
        return self.canonical(name)

    def to_dict(self) -> dict:
        return {"names": list(self.names), "yolo_ids": {int(k): v for k, v in self.yolo_ids.items()}}

    @classmethod
    def from_dict(cls, d: Mapping) -> ClassVocabulary:
        return cls(names=tuple(d["names"]), yolo_ids={int(k): str(v) for k, v in d["yolo_ids"].items()})

    @classmethod
    def of(cls, names: Sequence[str]) -> ClassVocabulary:
        return cls(names=tuple(names))
