"""`bench node` end to end, shortened: the command runs, answers every frame it publishes, and its
JSON has the fields the docs promise. Throughput is not asserted (benchmarks measure, tests check)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.ros, pytest.mark.slow]

DURATION_S = 2.0
FPS = 10.0


def test_bench_node_runs_and_writes_its_report(tmp_path):
    out = tmp_path / "node.json"
    cmd = [sys.executable, "-m", "rssi_ros", "bench", "node", "--duration", str(DURATION_S)]
    cmd += ["--fps", str(FPS), "--backends", "torch", "onnxruntime", "--json", str(out)]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["benchmark"] == "node"
    assert report["target"] == {"rate_hz": FPS, "latency_p99_ms": 20.0}
    assert [r["backend"] for r in report["results"]] == ["torch", "onnxruntime"]
    for r in report["results"]:
        assert r["published"] == round(DURATION_S * FPS)
        assert r["answered"] == r["published"] and r["dropped"] == 0
        assert 0 < r["latency_p50_ms"] <= r["latency_p99_ms"] <= r["latency_max_ms"]
        counters = r["node_counters"]
        assert counters["images.received"] == counters["images.answered"] > 0
    assert "torch" in proc.stdout and "onnxruntime" in proc.stdout  # the printed table
