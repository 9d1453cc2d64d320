"""Small helpers for tests that talk over real DDS (no mocks of rclpy)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HELPERS = Path(__file__).resolve().parent


def child_env(**extra: str) -> dict[str, str]:
    """Environment of a child ROS process: the test run's domain, logs in the repo, unbuffered output."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def start_python(script: str | Path, *args: str, **env: str) -> subprocess.Popen:
    """Start a helper script (in test/helpers or anywhere) with this interpreter."""
    return subprocess.Popen(
        [sys.executable, str(script), *args],
        env=child_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> str:
    """Stop a child (SIGINT first, as a ROS user would) and return what it printed."""
    if proc.poll() is None:
        proc.send_signal(2)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    out = proc.stdout.read() if proc.stdout else ""
    return out or ""


def spin_until(
    executor, condition: Callable[[], bool], timeout: float, procs: Sequence[subprocess.Popen] = ()
):
    """Spin until `condition()` holds; fail early (with output) if a child process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
        if condition():
            return True
        for p in procs:
            if p.poll() is not None:
                raise AssertionError(f"child process exited with {p.returncode}:\n{stop(p)}")
    return condition()
