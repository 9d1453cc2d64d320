"""Test-wide isolation: a random ROS domain per test run, logs inside the repository, no network.

This runs before any test module imports rclpy, so every node (and every child process, which
inherits the environment) of this run shares one domain that parallel runs are unlikely to share.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
REPO_ROOT = PACKAGE_ROOT.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data" / "deepsense"

# Domain ids 1..101 are valid on Linux with the default port mapping; 0 is everyone's default.
os.environ.setdefault("ROS_DOMAIN_ID", str(random.SystemRandom().randint(1, 101)))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_HOME", str(REPO_ROOT / ".cache" / "ros"))
os.environ.setdefault("ROS_LOG_DIR", str(REPO_ROOT / ".cache" / "ros" / "log"))
os.environ.setdefault("MPLCONFIGDIR", str(REPO_ROOT / ".cache" / "matplotlib"))
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Decoded-image caches of the tests' throw-away scenes go to a temporary folder, not the tree.
_OWN_CACHE = None if os.environ.get("RSSI_ROS_CACHE") else tempfile.mkdtemp(prefix="rssi_ros_cache_")
if _OWN_CACHE:
    os.environ["RSSI_ROS_CACHE"] = _OWN_CACHE
Path(os.environ["ROS_LOG_DIR"]).mkdir(parents=True, exist_ok=True)


def pytest_sessionfinish(session, exitstatus):
    if _OWN_CACHE:
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real DeepSense 6G measurements; tests that need them skip when the folder is absent."""
    if not (SHARED_DATA / "scenario1.npz").is_file():
        pytest.skip(f"real DeepSense data not found at {SHARED_DATA} (only present next to the repository)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
