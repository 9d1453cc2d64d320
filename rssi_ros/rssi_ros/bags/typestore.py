"""A `rosbags` typestore of ROS 2 Jazzy plus the rssi_ros_msgs types, registered from their .msg files.

The .msg files are found in the installed package's share folder (ament index) or, in a source
checkout, next to this package; the definitions are stored in every bag, so readers elsewhere need
neither this project nor a ROS install to decode them.
"""

from __future__ import annotations

import contextlib
import sys
from functools import lru_cache
from pathlib import Path

from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

PACKAGE = "rssi_ros_msgs"
# rssi_ros/rssi_ros/bags/typestore.py -> repository root -> rssi_ros_msgs/msg
SOURCE_MSG_DIR = Path(__file__).resolve().parents[3] / PACKAGE / "msg"


def msg_dir() -> Path:
    """Folder holding the rssi_ros_msgs .msg files (installed share folder first, then the checkout)."""
    candidates: list[Path] = []
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

        # OSError: AMENT_PREFIX_PATH unset (no sourced ROS).
        with contextlib.suppress(PackageNotFoundError, OSError):
            candidates.append(Path(get_package_share_directory(PACKAGE)) / "msg")
    except ImportError:
        pass
    # A pip/venv install keeps the share folder under sys.prefix even without AMENT_PREFIX_PATH.
    candidates.append(Path(sys.prefix) / "share" / PACKAGE / "msg")
    candidates.append(SOURCE_MSG_DIR)
    for c in candidates:
        if list(c.glob("*.msg")):
            return c
    raise FileNotFoundError(
        f"cannot find the {PACKAGE} .msg files (looked in {', '.join(map(str, candidates))}); "
        "build the interface package (`make setup`) or run from a source checkout"
    )


@lru_cache(maxsize=1)
def typestore() -> Typestore:
    """Jazzy's standard types plus rssi_ros_msgs/msg/{Detection, DetectionArray, RssiEstimate}."""
    store = get_typestore(Stores.ROS2_JAZZY)
    types = {}
    for path in sorted(msg_dir().glob("*.msg")):
        types.update(get_types_from_msg(path.read_text(encoding="utf-8"), f"{PACKAGE}/msg/{path.stem}"))
    store.register(types)
    return store
