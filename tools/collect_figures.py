"""Collect the evaluation JSONs written by tools/reproduce_figures.sh into the Markdown tables of
docs/training.md (printed; paste them in). Usage: python tools/collect_figures.py [RUNS]."""

from __future__ import annotations

import json
import sys
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


def main() -> int:
    runs = Path(sys.argv[1] if len(sys.argv) > 1 else "runs")
    print("\n".join(["### Real data (position only)", "", *real_table(runs), ""]))
    for scene_set, title in SCENE_SETS:
        table = synthetic_table(runs, scene_set)
        print("\n".join([f"### Synthetic scene set {title} ({scene_set})", "", *table, ""]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
