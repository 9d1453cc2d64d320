"""Generate one synthetic scene: plan the world, simulate the radio, render, label, write.

The plan and the radio of every drive are computed up front in the main process (cheap, vectorised);
frames are then rendered and written independently, in order or by a pool of worker processes,
with identical bytes either way because every frame is a pure function of the plan.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from rssi_ros import __version__
from rssi_ros.data.synth.config import SynthConfig
from rssi_ros.data.synth.gps import TxFixes, tx_fixes
from rssi_ros.data.synth.labels import frame_labels
from rssi_ros.data.synth.radio import DriveRadio, ShadowingField, simulate_drive
from rssi_ros.data.synth.render import Renderer
from rssi_ros.data.synth.scene import ScenePlan, plan_scene
from rssi_ros.data.synth.writer import GENERATOR_ID, TRUTH_CSV, SceneWriter, format_stamp
from rssi_ros.physics.geodesy import relative_position

log = logging.getLogger(__name__)

CHUNK_FRAMES = 16  # frames per task of the worker pool
TRUTH_COLUMNS = (
    "index",
    "seq_index",
    "time_s",
    "east_m",
    "north_m",
    "distance_m",
    "azimuth_deg",
    "path_loss_db",
    "blockage_db",
    "blockers",
    "shadowing_db",
    "drive_offset_db",
    "signal_db",
    "clean_rssi_db",
    "rssi_db",
    "gps_error_east_m",
    "gps_error_north_m",
    "tx_labelled",
    "tx_visible_fraction",
    "n_labels",
    "lighting",
)


@dataclass
class _Job:
    """What the frame workers need (inherited by forked workers, never pickled)."""

    plan: ScenePlan
    radio: dict[int, DriveRadio]
    fixes: dict[int, TxFixes]
    writer: SceneWriter


# The job of the current `generate_scene` call and this process's renderer; forked workers inherit them.
_STATE: dict[str, _Job | Renderer | None] = {"job": None, "renderer": None}


def _frame_task(frames: range) -> tuple[list[dict], dict[str, float]]:
    """Render, label and write a run of consecutive frames; returns their row data and timings."""
    job = _STATE["job"]
    if not isinstance(job, _Job):
        raise RuntimeError("frame task without a job")
    renderer = _STATE["renderer"]
    if not isinstance(renderer, Renderer) or renderer.plan is not job.plan:
        renderer = _STATE["renderer"] = Renderer(job.plan)
    timings: Counter[str] = Counter()
    out = []
    for frame in frames:
        drive, k = job.plan.locate(frame)
        radio, fix = job.radio[drive.seq_index], job.fixes[drive.seq_index]
        t0 = time.perf_counter()
        rendered = renderer.render(drive, k, frame)
        t1 = time.perf_counter()
        labels = frame_labels(rendered, job.plan.config.render)
        t2 = time.perf_counter()
        index = frame + 1
        paths = job.writer.write_frame(
            index,
            float(drive.stamps[k]),
            rendered.image,
            labels.text(),
            radio.powers[k],
            (float(fix.noisy_lat[k]), float(fix.noisy_lon[k])),
            (float(fix.lat[k]), float(fix.lon[k])),
        )
        t3 = time.perf_counter()
        timings["render_s"] += t1 - t0
        timings["labels_s"] += t2 - t1
        timings["encode_write_s"] += t3 - t2
        out.append(
            {
                "paths": paths,
                "tx_line": labels.tx_line,
                "tx_visible_fraction": labels.tx_visible_fraction,
                "n_labels": len(labels.labels),
                "classes": [label.class_name for label in labels.labels],
            }
        )
    return out, dict(timings)


def _chunks(plan: ScenePlan) -> Iterator[range]:
    for drive in plan.drives:
        frames = drive.frame_indices
        for start in range(frames.start, frames.stop, CHUNK_FRAMES):
            yield range(start, min(start + CHUNK_FRAMES, frames.stop))


def _run_frames(plan: ScenePlan, workers: int, progress: bool) -> tuple[list[dict], Counter[str]]:
    results: list[dict] = []
    timings: Counter[str] = Counter()
    chunks = list(_chunks(plan))
    bar = tqdm(total=plan.n_frames, unit="frame", desc=f"synth {plan.config.name}", disable=not progress)
    methods = multiprocessing.get_all_start_methods()
    if workers > 1 and "fork" in methods:
        # Forked workers inherit the plan; every frame is a pure function of it, so order is free.
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for rows, t in pool.imap(_frame_task, chunks):
                results.extend(rows)
                timings.update(t)
                bar.update(len(rows))
    else:
        if workers > 1:
            log.warning("no fork start method here: rendering in one process")
        for chunk in chunks:
            rows, t = _frame_task(chunk)
            results.extend(rows)
            timings.update(t)
            bar.update(len(rows))
    bar.close()
    return results, timings


def generate_scene(
    out_dir: str | Path,
    config: SynthConfig | None = None,
    frames: int = 100,
    seed: int = 0,
    *,
    name: str | None = None,
    workers: int = 1,
    overwrite: bool = False,
    progress: bool = False,
    timings: dict[str, float] | None = None,
) -> Path:
    """Write a scene of `frames` frames into `out_dir`; returns the path of its scenario CSV.

    `timings`, when given, receives seconds spent per stage (for the benchmark).
    """
    t_start = time.perf_counter()
    config = config if config is not None else SynthConfig()
    if name is not None:
        config = dataclasses.replace(config, name=name)
    if workers < 1:
        raise ValueError("workers must be at least 1")
    writer = SceneWriter(out_dir, config.name, config.render.jpeg_quality)
    writer.prepare(overwrite)
    plan = plan_scene(config, frames, seed)
    t_plan = time.perf_counter()
    shadowing = ShadowingField.draw(seed, config.radio)
    radio: dict[int, DriveRadio] = {}
    fixes: dict[int, TxFixes] = {}
    for drive in plan.drives:
        fix = tx_fixes(plan, drive)
        distance = relative_position(config.site.lat, config.site.lon, fix.lat, fix.lon).distance_m
        fixes[drive.seq_index] = fix
        radio[drive.seq_index] = simulate_drive(plan, drive, fix.enu, distance, shadowing)
    t_radio = time.perf_counter()
    log.info(
        "scene %s: %d frames in %d drives, seed %d -> %s",
        config.name,
        frames,
        len(plan.drives),
        seed,
        out_dir,
    )
    writer.write_basestation(config.site.lat, config.site.lon)
    _STATE.update(job=_Job(plan, radio, fixes, writer), renderer=None)
    try:
        results, stage = _run_frames(plan, workers, progress)
    finally:
        _STATE.update(job=None, renderer=None)
    t_frames = time.perf_counter()

    rows, truth = _rows(plan, radio, fixes, results)
    writer.write_truth(TRUTH_COLUMNS, truth)
    doc = scenario_document(plan, radio, fixes, results)
    writer.write_yaml(doc)
    csv_path = writer.write_csv(rows)
    t_end = time.perf_counter()
    if timings is not None:
        timings.update(
            plan_s=t_plan - t_start,
            radio_s=t_radio - t_plan,
            frames_s=t_frames - t_radio,
            finish_s=t_end - t_frames,
            total_s=t_end - t_start,
            **{k: float(v) for k, v in stage.items()},
        )
    noise = doc["irreducible_noise_db"]
    log.info(
        "wrote %s (%d frames, %.1f frames/s); irreducible noise %.3f dB",
        csv_path,
        frames,
        frames / max(t_end - t_start, 1e-9),
        noise,
    )
    return csv_path


def _rows(
    plan: ScenePlan, radio: dict[int, DriveRadio], fixes: dict[int, TxFixes], results: list[dict]
) -> tuple[list[dict], list[dict]]:
    rows, truth = [], []
    names = {a.actor_id: a.class_name for d in plan.drives for a in d.actors}
    for drive in plan.drives:
        r, fx = radio[drive.seq_index], fixes[drive.seq_index]
        beams = r.beam_index
        for k, frame in enumerate(drive.frame_indices):
            res = results[frame]
            index = frame + 1
            rows.append(
                {
                    "index": index,
                    **res["paths"],
                    "unit1_beam_index": int(beams[k]),
                    "seq_index": drive.seq_index,
                    "time_stamp[UTC]": format_stamp(float(drive.stamps[k])),
                    "unit1_tx_bbox_line": res["tx_line"],
                }
            )
            blockers = ";".join(
                f"{names[aid]}:{cov[k]:.3f}" for aid, cov in sorted(r.coverage.items()) if cov[k] > 0
            )
            truth.append(
                {
                    "index": index,
                    "seq_index": drive.seq_index,
                    "time_s": f"{drive.stamps[k]:.3f}",
                    "east_m": f"{fx.enu[k, 0]:.4f}",
                    "north_m": f"{fx.enu[k, 1]:.4f}",
                    "distance_m": f"{r.distance_m[k]:.4f}",
                    "azimuth_deg": f"{r.azimuth_deg[k]:.3f}",
                    "path_loss_db": f"{r.path_loss_db[k]:.6f}",
                    "blockage_db": f"{r.blockage_db[k]:.6f}",
                    "blockers": blockers,
                    "shadowing_db": f"{r.shadowing_db[k]:.6f}",
                    "drive_offset_db": f"{r.drive_offset_db:.6f}",
                    "signal_db": f"{r.signal_db[k]:.6f}",
                    "clean_rssi_db": f"{r.clean_rssi_db[k]:.6f}",
                    "rssi_db": f"{r.rssi_db[k]:.6f}",
                    "gps_error_east_m": f"{fx.error_m[k, 0]:.4f}",
                    "gps_error_north_m": f"{fx.error_m[k, 1]:.4f}",
                    "tx_labelled": int(res["tx_line"] >= 0),
                    "tx_visible_fraction": f"{res['tx_visible_fraction']:.4f}",
                    "n_labels": res["n_labels"],
                    "lighting": drive.lighting.name,
                }
            )
    return rows, truth


def _stat(x: np.ndarray) -> float:
    return round(float(x), 6)


def scenario_document(
    plan: ScenePlan, radio: dict[int, DriveRadio], fixes: dict[int, TxFixes], results: list[dict]
) -> dict:
    """Contents of `scenario.yaml`: what a reader, trainer or evaluator needs to know of the scene."""
    cfg = plan.config
    drives = plan.drives
    rssi = np.concatenate([radio[d.seq_index].rssi_db for d in drives])
    clean = np.concatenate([radio[d.seq_index].clean_rssi_db for d in drives])
    blockage = np.concatenate([radio[d.seq_index].blockage_db for d in drives])
    residual = rssi - clean
    # What a position-only model loses to GPS error: path loss at the noisy vs. the true distance.
    noisy_d = np.concatenate(
        [
            relative_position(
                cfg.site.lat, cfg.site.lon, fixes[d.seq_index].noisy_lat, fixes[d.seq_index].noisy_lon
            ).distance_m
            for d in drives
        ]
    )
    true_d = np.concatenate([radio[d.seq_index].distance_m for d in drives])
    floor = cfg.radio.min_distance_m
    gps_effect = (
        10.0 * cfg.radio.path_loss_exponent * np.log10(np.maximum(noisy_d, floor) / np.maximum(true_d, floor))
    )
    classes = Counter(c for r in results for c in r["classes"])
    tx_labelled = np.array([r["tx_line"] >= 0 for r in results])
    return {
        "generator": GENERATOR_ID,
        "rssi_ros_version": __version__,
        "name": cfg.name,
        "seed": plan.seed,
        "frames": plan.n_frames,
        "drives": len(drives),
        "basestation": {"lat": cfg.site.lat, "lon": cfg.site.lon},
        "camera": plan.camera.to_dict(),
        "path_loss_exponent": cfg.radio.path_loss_exponent,
        "reference_power_db": cfg.radio.reference_power_db,
        "irreducible_noise_db": _stat(residual.std()),
        "irreducible_noise": {
            "description": (
                "std (dB) of RSSI minus the RSSI without measurement noise and per-drive offset: the part"
                " of the label that no input (image, positions, boxes) reveals"
            ),
            "std_db": _stat(residual.std()),
            "mean_db": _stat(residual.mean()),
            "rms_db": _stat(np.sqrt(np.mean(residual**2))),
            "measurement_noise_db_per_beam": cfg.radio.measurement_noise_db,
            "drive_offset_std_db": cfg.radio.drive_offset_std_db,
            "gps_noise_effect_db": _stat(np.sqrt(np.mean(gps_effect**2))),
        },
        "statistics": {
            "rssi_mean_db": _stat(rssi.mean()),
            "rssi_std_db": _stat(rssi.std()),
            "rssi_min_db": _stat(rssi.min()),
            "rssi_max_db": _stat(rssi.max()),
            "blocked_fraction": _stat(np.mean(blockage > 0)),
            "mean_blockage_when_blocked_db": _stat(blockage[blockage > 0].mean())
            if np.any(blockage > 0)
            else 0.0,
            "tx_labelled_fraction": _stat(tx_labelled.mean()),
            "dusk_drives": sum(d.lighting.is_dusk for d in drives),
            "escorted_drives": sum(d.escorted for d in drives),
            "labels_per_class": {k: int(classes[k]) for k in sorted(classes)},
        },
        "files": {"csv": f"{cfg.name}.csv", "truth": TRUTH_CSV},
        "settings": cfg.to_dict(),
    }
