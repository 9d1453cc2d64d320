"""Test-wide isolation: a random ROS domain per test run, logs inside the repository, no network.

This runs before any test module imports rclpy, so every node (and every child process, which
inherits the environment) of this run shares one domain that parallel runs are unlikely to share.
An inherited ROS_DOMAIN_ID is deliberately overridden (a shell that exports one, say 0, would put
every test run, and every robot on that domain, on one bus); set RSSI_ROS_TEST_DOMAIN_ID to choose
the domain of a run yourself. The domain used is printed in pytest's report header.
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
# What the shared-data tests read: every scenarioN.npz, and the files in the official layouts.
SHARED_SCENARIOS = range(1, 10)
SHARED_OFFICIAL_CSV = Path("official") / "scenario9.csv"
SHARED_CHALLENGE = Path("official") / "scenario5_position_challenge_dev"
SHARED_CHALLENGE_FILES = (
    *(f"scenario5_dev_{part}.csv" for part in ("train", "val", "test")),
    "unit1/GPS_data/gps_location.txt",
)

# Domain ids 1..101 are valid on Linux with the default port mapping; 0 is everyone's default.
MIN_DOMAIN_ID, MAX_DOMAIN_ID = 1, 101
# A domain chosen by hand may be any valid one, 0 included.
CHOSEN_DOMAIN_IDS = range(0, MAX_DOMAIN_ID + 1)
DOMAIN_ENV = "RSSI_ROS_TEST_DOMAIN_ID"


def _test_domain_id() -> tuple[int, str]:
    """The domain of this run and where it came from (RSSI_ROS_TEST_DOMAIN_ID or random)."""
    chosen = os.environ.get(DOMAIN_ENV, "").strip()
    if not chosen:
        return random.SystemRandom().randint(MIN_DOMAIN_ID, MAX_DOMAIN_ID), "random"
    if not chosen.isdigit() or int(chosen) not in CHOSEN_DOMAIN_IDS:
        raise pytest.UsageError(f"{DOMAIN_ENV}={chosen!r}: expected an integer in 0..{MAX_DOMAIN_ID}")
    return int(chosen), DOMAIN_ENV


DOMAIN_ID, DOMAIN_SOURCE = _test_domain_id()
INHERITED_DOMAIN_ID = os.environ.get("ROS_DOMAIN_ID")
os.environ["ROS_DOMAIN_ID"] = str(DOMAIN_ID)
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


def pytest_report_header(config) -> str:
    inherited = f", overriding the inherited {INHERITED_DOMAIN_ID}" if INHERITED_DOMAIN_ID else ""
    return f"ROS_DOMAIN_ID={DOMAIN_ID} ({DOMAIN_SOURCE}{inherited})"


def pytest_sessionfinish(session, exitstatus):
    if _OWN_CACHE:
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)


def _require_shared(paths: list[Path]) -> None:
    """Skip (with what is missing) unless every path exists: the data only lives next to the repository."""
    missing = [str(p.relative_to(SHARED_DATA)) for p in paths if not p.exists()]
    if missing:
        pytest.skip(f"real DeepSense data not at {SHARED_DATA} (only next to the repository): no {missing}")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of the real `scenarioN.npz` (N = 1..9); skips unless all nine are there."""
    _require_shared([SHARED_DATA / f"scenario{n}.npz" for n in SHARED_SCENARIOS])
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_official_csv() -> Path:
    """The real official `scenario9.csv` (paths only; the files it names are not shipped)."""
    _require_shared([SHARED_DATA / SHARED_OFFICIAL_CSV])
    return SHARED_DATA / SHARED_OFFICIAL_CSV


@pytest.fixture(scope="session")
def shared_challenge() -> Path:
    """The real scenario-5 position-challenge folder, with its three CSVs and the basestation fix."""
    folder = SHARED_DATA / SHARED_CHALLENGE
    _require_shared([folder, *(folder / f for f in SHARED_CHALLENGE_FILES)])
    return folder


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def context():
    """An rclpy context of the test's own (in-process nodes), shut down afterwards."""
    import rclpy

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    yield ctx
    rclpy.try_shutdown(context=ctx)
