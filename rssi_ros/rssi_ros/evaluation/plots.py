"""PNG figures of an evaluation: error histogram, predicted-vs-true RSSI per drive (matplotlib, Agg)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rssi_ros.evaluation.model_eval import EvalResult

log = logging.getLogger(__name__)

HISTOGRAM_BINS = 60
FIGURE_DPI = 110


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def error_histogram(results: dict[str, EvalResult], path: Path, title: str) -> Path:
    """Histogram of RSSI errors (prediction - label) of one or more evaluations (e.g. Table IV pair)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    errors = {name: r.pred["rssi"] - r.true["rssi"] for name, r in results.items() if r.n}
    if errors:
        lim = max(1.0, float(np.percentile(np.abs(np.concatenate(list(errors.values()))), 99.5)))
        bins = np.linspace(-lim, lim, HISTOGRAM_BINS + 1)
        for name, err in errors.items():
            rmse = float(np.sqrt(np.mean(err**2)))
            ax.hist(err, bins=bins, alpha=0.6, label=f"{name} (RMSE {rmse:.2f} dB, n={err.size})")
        ax.axvline(0.0, color="k", lw=0.8)
        ax.legend(fontsize=8)
    ax.set_xlabel("RSSI error, predicted - true (dB)")
    ax.set_ylabel("samples")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=FIGURE_DPI)
    plt.close(fig)
    return path


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


@dataclass
class DrivePlots:
    """The per-drive PNGs written, and the drives left without one by the cap (in the report)."""

    written: list[Path] = field(default_factory=list)
    not_plotted: list[tuple[str, int]] = field(default_factory=list)  # (scenario, seq_index)

    def to_dict(self) -> dict[str, Any]:
        return {
            "written": [str(p) for p in self.written],
            "not_plotted": [{"scenario": s, "drive": q} for s, q in self.not_plotted],
        }


def drive_plots(result: EvalResult, folder: Path, title: str, max_plots: int) -> DrivePlots:
    """One PNG per drive (scenario, seq_index), for the first `max_plots` drives in sorted order:
    predicted and true RSSI (and PL) over time."""
    plt = _pyplot()
    drives = sorted({(s, int(q)) for s, q in zip(result.scenario, result.seq_index, strict=True)})
    keep = max(0, max_plots)
    skipped = drives[keep:]
    if skipped:
        log.warning("plotting %d of %d drives (--max-drive-plots %d)", keep, len(drives), max_plots)
    drives = drives[:keep]
    scen = np.asarray(result.scenario)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for scenario, seq in drives:
        m = np.flatnonzero((scen == scenario) & (result.seq_index == seq))
        t = result.stamp[m]
        x = t - np.nanmin(t) if np.all(np.isfinite(t)) else np.arange(m.size, dtype=float)
        order = np.argsort(x, kind="stable")
        m, x = m[order], x[order]
        fig, ax = plt.subplots(figsize=(7, 3.5))
        ax.plot(x, result.true["rssi"][m], ".-", lw=1, ms=3, label="true RSSI")
        ax.plot(x, result.pred["rssi"][m], ".-", lw=1, ms=3, label="predicted RSSI")
        ax.plot(x, -result.pred["pl"][m], ":", lw=1, label="-PL (predicted)")
        rmse = float(np.sqrt(np.mean((result.pred["rssi"][m] - result.true["rssi"][m]) ** 2)))
        ax.set_title(f"{title}: {scenario} drive {seq} (RMSE {rmse:.2f} dB, n={m.size})", fontsize=9)
        ax.set_xlabel("time in drive (s)" if np.all(np.isfinite(t)) else "frame")
        ax.set_ylabel("dB")
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = folder / f"{_safe(scenario)}_drive{seq}.png"
        fig.savefig(path, dpi=FIGURE_DPI)
        plt.close(fig)
        out.append(path)
    return DrivePlots(out, skipped)
