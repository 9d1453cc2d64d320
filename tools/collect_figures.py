"""Collect the evaluation JSONs written by tools/reproduce_figures.sh into the Markdown tables of
docs/training.md (printed; paste them in) and one bar chart of every RSSI RMSE beside the baseline
and the noise floor. Usage: python tools/collect_figures.py [RUNS] [--plot PNG]."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

REAL = ("real_position_drive", "real_position_frame")
SCENE_SETS = (
    ("synthetic", "with traffic, random frame split"),
    ("synthetic_drive", "with traffic, held-out drives"),
    ("synthetic_clear", "without moving distractors, random frame split"),
)
SYNTHETIC = ("decomposed_learned", "decomposed_analytic", "brute_force", "position_only", "tx_box_only")


def _cell(m: dict) -> str:
    return f"{m['rmse']:.2f} / {m['mae']:.2f} / {m['within_1db']:.0%}"


def _load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def real_table(runs: Path) -> list[str]:
    lines: list[str] = []
    for name in REAL:
        report = _load(runs / name / "eval" / "evaluation.json")
        if report is None:
            continue
        base = {b["predictor"]: b for b in report["baselines"]}
        if not lines:
            lines = [
                "| protocol | n test | position-only model | " + " | ".join(base) + " |",
                "| --- | ---: | --- |" + " --- |" * len(base),
            ]
        cells = [_cell(report["rssi"])] + [_cell(b) for b in base.values()]
        lines.append(f"| {report['protocol']} | {report['n']} | " + " | ".join(cells) + " |")
    return lines


def synthetic_table(runs: Path, scene_set: str) -> list[str]:
    lines = [
        "| model (run) | parameters | n test | PL RMSE | SH RMSE | RSSI RMSE / MAE / <=1dB "
        "| RSSI, distractors removed |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    noise, baselines = None, []
    for name in SYNTHETIC:
        report = _load(runs / scene_set / name / "eval" / "evaluation.json")
        summary = _load(runs / scene_set / name / "summary.json") or {}
        if report is None:
            continue
        params = summary.get("parameters", {})
        total = params.get("total") if isinstance(params, dict) else params
        clean = report.get("no_interference", {}).get("rssi")
        lines.append(
            f"| {report['model']} ({name}) | {total if total is not None else '?'} | {report['n']} | "
            f"{report['pl']['rmse']:.2f} | {report['sh']['rmse']:.2f} | {_cell(report['rssi'])} | "
            f"{_cell(clean) if clean else '-'} |"
        )
        noise = report.get("irreducible_noise_db") or noise
        baselines = report["baselines"] or baselines
    for b in baselines:
        lines.append(f"| baseline: {b['predictor']} | - | - | - | - | {_cell(b)} | - |")
    if noise:
        lines.append("")
        lines.append(f"Irreducible noise of the scene set (scenario.yaml): {noise[0]:.3f} dB.")
    return lines


def plot(runs: Path, path: Path) -> None:
    """RSSI RMSE of every variant per scene set, with the k-NN baseline and the irreducible noise."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(SCENE_SETS), figsize=(4.2 * len(SCENE_SETS), 3.9), sharey=True)
    for ax, (scene_set, title) in zip(axes, SCENE_SETS, strict=True):
        names, rmse, noise, knn = [], [], None, None
        for name in SYNTHETIC:
            report = _load(runs / scene_set / name / "eval" / "evaluation.json")
            if report is None:
                continue
            names.append(textwrap.fill(name.replace("_", " "), 11))
            rmse.append(report["rssi"]["rmse"])
            noise = (report.get("irreducible_noise_db") or [noise])[0]
            knn = next((b["rmse"] for b in report["baselines"] if b["predictor"] == "knn10"), knn)
        ax.bar(range(len(names)), rmse, color="tab:blue")
        ax.set_xticks(range(len(names)), names, fontsize=7)
        if knn is not None:
            ax.axhline(knn, color="tab:orange", linestyle="--", label=f"k-NN baseline {knn:.2f} dB")
        if noise is not None:
            ax.axhline(noise, color="black", linestyle=":", label=f"irreducible noise {noise:.2f} dB")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    axes[0].set_ylabel("test RSSI RMSE (dB)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("runs", nargs="?", type=Path, default=Path("runs"))
    parser.add_argument("--plot", type=Path, default=None, help="also write the bar chart here")
    args = parser.parse_args()
    print("\n".join(["### Real data (position only)", "", *real_table(args.runs), ""]))
    for scene_set, title in SCENE_SETS:
        table = synthetic_table(args.runs, scene_set)
        print("\n".join([f"### Synthetic scene set {title} ({scene_set})", "", *table, ""]))
    if args.plot:
        plot(args.runs, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
