"""The two-stage training loop (Table II of the paper), resumable bit for bit, DDP-ready.

Stage 1 trains everything but the frozen image backbone (batch 128, AdamW 5e-3), stage 2 trains
everything (batch 4, AdamW 5e-4); each stage stops early when the validation RSSI RMSE stops
improving, and stage 2 starts from the best weights so far. Every epoch ends with `last.pt` (the
full resume state) and, when the validation RMSE improved, `best.pt` - both written atomically.

Determinism: the initial weights come from `seed`; each epoch's batch order and modality dropout
come from generators seeded by (seed, stage, epoch[, rank]) and never from carried-over RNG state;
so a run resumed from `last.pt` after a kill -9 computes exactly what an uninterrupted run does.
"""

from __future__ import annotations

import json
import logging
import math
import platform
import random
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader

from rssi_ros.data.sample import Sample
from rssi_ros.evaluation.metrics import regression_metrics
from rssi_ros.model.batch import Batch
from rssi_ros.model.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from rssi_ros.model.networks import RssiModel, build_model
from rssi_ros.model.params import parameter_counts
from rssi_ros.training import distributed
from rssi_ros.training.config import STAGE_NAMES, StageConfig, TrainConfig, config_from_dict
from rssi_ros.training.data import InputDataset, collate_fn, epoch_batches, eval_batches
from rssi_ros.training.history import History
from rssi_ros.training.loss import training_loss
from rssi_ros.training.run_data import RunData, load_run_data

log = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
LAST, BEST = "last.pt", "best.pt"
METRICS_CSV = "metrics.csv"
SPLIT_JSON = "split.json"
CONFIG_YAML = "config.yaml"
SUMMARY_JSON = "summary.json"
LOG_FILE = "train.log"
# Settings that may differ between a run and its resumption (they do not change the results).
# `max_epochs` is not one of them: it shortens the stages and so changes the cosine schedule.
RESUME_FREE_KEYS = ("progress", "tensorboard", "device", "deterministic")
RESUME_FREE_DATA_KEYS = ("workers", "cache_root")
# May change on resume only when the data still gives the interrupted run's split (same sha256):
# the same files moved elsewhere, not other data.
RESUME_SPLIT_CHECKED_DATA_KEYS = ("paths",)


@dataclass
class StageState:
    """Where training stands (saved in `last.pt`).

    `stage_index` is the position in the list of *enabled* stages (what the resume logic and the
    per-epoch seeds use); the configured stage number (1 or 2) is what files and logs show.
    `ranks` is the DDP agreement record (`distributed.RankAgreement.to_dict()`), kept across
    stages and resumes so `ranks_agree` covers every epoch of the run.
    """

    stage_index: int = 0
    next_epoch: int = 0
    global_epoch: int = 0
    stage_finished: bool = False
    best_stage_value: float = math.inf
    bad_epochs: int = 0
    best_value: float = math.inf
    done: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    ranks: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StageState:
        return cls(**{k: d[k] for k in cls().__dict__ if k in d})


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def lr_at(stage: StageConfig, epoch: int) -> float:
    """Learning rate of an epoch (set explicitly each epoch: nothing to restore on resume)."""
    if stage.schedule == "constant" or stage.epochs <= 1:
        return stage.lr
    if stage.schedule == "step":
        return stage.lr * stage.gamma ** (epoch // stage.step_epochs)
    floor = stage.lr * stage.min_lr_ratio
    return floor + 0.5 * (stage.lr - floor) * (1.0 + math.cos(math.pi * epoch / (stage.epochs - 1)))


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            check=False,
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


class Trainer:
    """One training run into `out` (see the module docstring)."""

    def __init__(
        self, config: TrainConfig, out: Path, resume: bool = False, samples: Sequence[Sample] | None = None
    ) -> None:
        self.config = config
        self.samples = samples
        self.out = Path(out)
        self.resume = resume
        self.ckpt_dir = self.out / CHECKPOINT_DIR
        self.ctx = distributed.DistContext()
        self.model: RssiModel | None = None
        self.data: RunData | None = None
        self._warned_empty_val = False

    # --- set-up ------------------------------------------------------------------------------
    def _setup_logging(self) -> logging.Handler | None:
        if not self.ctx.is_main:
            return None
        handler = logging.FileHandler(self.out / LOG_FILE)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger("rssi_ros").addHandler(handler)
        return handler

    def _check_resume_config(self, saved: dict[str, Any]) -> None:
        """Refuse a resume whose configuration would change the results.

        Keys in RESUME_SPLIT_CHECKED_DATA_KEYS are let through here; `_check_resume_split` then
        requires the data to give the recorded split.
        """
        now, then = self.config.to_dict(), dict(saved)
        skipped = (*RESUME_FREE_DATA_KEYS, *RESUME_SPLIT_CHECKED_DATA_KEYS)
        for d in (now, then):
            for k in RESUME_FREE_KEYS:
                d.pop(k, None)
            d["data"] = {k: v for k, v in dict(d.get("data", {})).items() if k not in skipped}
        if now != then:
            diff = sorted(_differing_keys(now, then))
            raise ValueError(
                f"--resume: the configuration differs from the interrupted run's in {diff}; "
                "resume with the same config (or start a new --out)"
            )

    def _check_resume_split(self, ckpt: Checkpoint, data: RunData) -> None:
        """The resumed run must train on the interrupted run's split (data paths may have moved)."""
        then_cfg = dict(ckpt.provenance.get("config", {}).get("data", {}))
        now_cfg = self.config.to_dict()["data"]
        changed = [k for k in RESUME_SPLIT_CHECKED_DATA_KEYS if now_cfg.get(k) != then_cfg.get(k)]
        recorded = (ckpt.provenance.get("data", {}).get("split") or {}).get("sha256")
        current = data.provenance["split"]["sha256"]
        if recorded == current or (recorded is None and not changed):
            return
        moved = "; ".join(f"data.{k} {then_cfg.get(k)!r} -> {now_cfg.get(k)!r}" for k in changed)
        if recorded is None:
            raise ValueError(
                f"--resume: {moved}, and the interrupted run recorded no split sha256 to check the "
                "new data against; resume with the same data paths (or start a new --out)"
            )
        raise ValueError(
            f"--resume: the data gives another split (sha256 {current[:12]}) than the interrupted "
            f"run's ({recorded[:12]}){': ' + moved if moved else ' (the data changed)'}; resume with "
            "the same data (or start a new --out)"
        )

    def _load_resume(self) -> tuple[StageState, Checkpoint | None]:
        path = self.ckpt_dir / LAST
        if not self.resume:
            if path.exists():
                raise FileExistsError(
                    f"{path} exists: pass --resume to continue that run, or choose another --out"
                )
            return StageState(), None
        if not path.exists():
            log.warning("--resume: no %s yet, starting from scratch", path)
            return StageState(), None
        ckpt = load_checkpoint(path)
        if not ckpt.training_state:
            raise CheckpointError(f"{path} holds no training state to resume from")
        self._check_resume_config(ckpt.provenance.get("config", {}))
        state = StageState.from_dict(ckpt.training_state["state"])
        stages = self.config.stages()
        number = stage_number(stages[state.stage_index][0]) if state.stage_index < len(stages) else None
        log.info(
            "resuming from %s: stage %s, next epoch %d (global epoch %d)",
            path,
            number,
            state.next_epoch,
            state.global_epoch,
        )
        return state, ckpt

    def _provenance(self, data: RunData) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "data": data.provenance,
            "git_commit": _git_commit(),
            "world_size": self.ctx.world_size,
            "host": platform.node(),
        }

    # --- the run -------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        cfg = self.config
        self.ctx = distributed.setup(cfg.device)
        self.out.mkdir(parents=True, exist_ok=True)
        self.ckpt_dir.mkdir(parents=True, exist_ok=True)
        handler = self._setup_logging()
        try:
            return self._run()
        finally:
            if handler is not None:
                logging.getLogger("rssi_ros").removeHandler(handler)
                handler.close()
            distributed.teardown(self.ctx)

    def _run(self) -> dict[str, Any]:
        cfg, ctx = self.config, self.ctx
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        if cfg.deterministic:
            # CPU kernels are deterministic for this model already (the resume test checks it bit
            # for bit); this switch is for CUDA, where it costs speed (and needs
            # CUBLAS_WORKSPACE_CONFIG=:4096:8 in the environment).
            torch.use_deterministic_algorithms(True, warn_only=True)
        state, resume_ckpt = self._load_resume()
        if state.done:
            log.info("this run already finished; nothing to resume")
            return (
                json.loads((self.out / SUMMARY_JSON).read_text())
                if (self.out / SUMMARY_JSON).exists()
                else {}
            )

        preprocess = cfg.preprocess.build()
        data = load_run_data(cfg, preprocess, progress=cfg.progress and ctx.is_main, samples=self.samples)
        if resume_ckpt is not None:
            self._check_resume_split(resume_ckpt, data)
        self.data = data
        if ctx.is_main:
            data.split.to_json(self.out / SPLIT_JSON)
            (self.out / CONFIG_YAML).write_text(_yaml(cfg.to_dict()))

        seed_everything(cfg.seed)
        model = build_model(cfg.model, preprocess)
        mean, std = data.prepared.target_statistics(data.split.train)
        model.set_target_statistics(mean, std)
        if resume_ckpt is not None:
            model.load_state_dict(resume_ckpt.state_dict)
        model.to(ctx.device)
        self.model = model
        counts = parameter_counts(model)
        log.info("model %s: %s parameters (%s)", cfg.model.display_name, f"{counts['total']:,}", dict(counts))
        provenance = self._provenance(data)
        history = (
            History(self.out / METRICS_CSV, state.global_epoch if resume_ckpt else None, cfg.tensorboard)
            if ctx.is_main
            else None
        )
        stages = cfg.stages()
        try:
            for index, (name, stage) in enumerate(stages):
                if index < state.stage_index or (index == state.stage_index and state.stage_finished):
                    continue
                fresh_stage = index > state.stage_index or (resume_ckpt is None and state.next_epoch == 0)
                if index > state.stage_index or state.stage_finished:
                    state = StageState(
                        stage_index=index,
                        global_epoch=state.global_epoch,
                        best_value=state.best_value,
                        history=state.history,
                        ranks=state.ranks,
                    )
                opt_state = None
                if not fresh_stage and resume_ckpt is not None:
                    opt_state = resume_ckpt.training_state.get("optimizer")
                if fresh_stage and index > 0:
                    self._restore_best(model)
                state = self._run_stage(index, name, stage, state, opt_state, provenance, history)
                resume_ckpt = None
            state.done = True
            summary = self._finish(state, provenance)
        finally:
            if history is not None:
                history.close()
        return summary

    def _restore_best(self, model: RssiModel) -> None:
        """Stage 2 starts from the best weights so far (what early stopping kept)."""
        self.ctx.barrier()
        path = self.ckpt_dir / BEST
        if path.exists():
            model.load_state_dict(load_checkpoint(path).state_dict)
            log.info("next stage starts from %s", path)

    # --- one stage ---------------------------------------------------------------------------
    def _run_stage(
        self,
        index: int,
        name: str,
        stage: StageConfig,
        state: StageState,
        opt_state: dict | None,
        provenance: dict[str, Any],
        history: History | None,
    ) -> StageState:
        ctx, model, data = self.ctx, self.model, self.data
        assert model is not None and data is not None
        number = stage_number(name)
        model.set_backbone_frozen(stage.freeze_encoder)
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=stage.lr, weight_decay=stage.weight_decay)
        if opt_state is not None:
            optimizer.load_state_dict(opt_state)
        features = None
        if stage.freeze_encoder and stage.precompute_features and model.image_encoder is not None:
            features = self._backbone_features(model)
        net = distributed.wrap(model, ctx)
        log.info(
            "%s: %d epochs, batch %d, lr %.1e (%s), encoder %s, %d trainable parameters",
            name,
            stage.epochs,
            stage.batch_size,
            stage.lr,
            stage.schedule,
            "frozen" if stage.freeze_encoder else "trained",
            sum(p.numel() for p in params),
        )
        for epoch in range(state.next_epoch, stage.epochs):
            t0 = time.perf_counter()
            lr = lr_at(stage, epoch)
            for group in optimizer.param_groups:
                group["lr"] = lr
            train_loss = self._train_epoch(net, optimizer, stage, index, number, epoch, features)
            # Rank 0's BatchNorm statistics on every rank, then the live weights of every rank
            # compared (before anything reloads a checkpoint): the parameters must agree by
            # themselves, through DDP's gradient averaging.
            distributed.broadcast_buffers(model, ctx)
            self._check_ranks(model, state, number, epoch)
            val = self._validate(model, features)
            monitor = self._monitor_value(val, train_loss)
            improved_stage = monitor < state.best_stage_value - stage.min_delta_db
            state.bad_epochs = 0 if improved_stage else state.bad_epochs + 1
            state.best_stage_value = min(state.best_stage_value, monitor)
            is_best = monitor < state.best_value
            state.best_value = min(state.best_value, monitor)
            state.global_epoch += 1
            state.next_epoch = epoch + 1
            stop = stage.patience > 0 and state.bad_epochs >= stage.patience
            state.stage_finished = stop or state.next_epoch >= stage.epochs
            row = {
                "global_epoch": state.global_epoch,
                "stage": number,
                "epoch": epoch + 1,
                "lr": lr,
                "train_loss": train_loss,
                "val_loss": val["loss"],
                "val_rssi_rmse": val["rssi"]["rmse"],
                "val_rssi_mae": val["rssi"]["mae"],
                "val_rssi_within_1db": val["rssi"]["within_1db"],
                "val_pl_rmse": val["pl"]["rmse"],
                "val_sh_rmse": val["sh"]["rmse"],
                "best": int(is_best),
                "seconds": time.perf_counter() - t0,
            }
            state.history.append({k: v for k, v in row.items() if k != "seconds"})
            if ctx.is_main:
                assert history is not None
                history.append(row)
                metrics = {
                    "stage": number,
                    "epoch": epoch + 1,
                    "global_epoch": state.global_epoch,
                    "val": val,
                }
                if is_best:
                    save_checkpoint(
                        Checkpoint.from_model(model, data.normaliser, metrics, provenance),
                        self.ckpt_dir / BEST,
                    )
                training_state = {"state": state.to_dict(), "optimizer": optimizer.state_dict()}
                save_checkpoint(
                    Checkpoint.from_model(model, data.normaliser, metrics, provenance, training_state),
                    self.ckpt_dir / LAST,
                )
            ctx.barrier()
            log.info(
                "%s epoch %d/%d: lr %.2e, train loss %.4f dB^2, val loss %.4f dB^2, "
                "val RSSI RMSE %.3f dB%s (%.1f s)",
                name,
                epoch + 1,
                stage.epochs,
                lr,
                train_loss,
                val["loss"],
                val["rssi"]["rmse"],
                " (best)" if is_best else "",
                row["seconds"],
            )
            if stop:
                log.info("%s: early stop after %d epochs without improvement", name, stage.patience)
                break
        return state

    def _loader(self, indices: list[list[int]], with_image: bool) -> DataLoader:
        data = self.data
        assert data is not None
        dataset = InputDataset(data.prepared, data.cache, data.preprocess.image_size, with_image)
        return DataLoader(
            dataset,
            batch_sampler=indices,
            collate_fn=collate_fn(with_image),
            num_workers=self.config.data.workers,
        )

    def _batches(self, batches: list[list[int]], features: Tensor | None):
        """(Batch, targets, indices); with precomputed features they replace the image tensor."""
        assert self.model is not None
        with_image = self.model.image_encoder is not None and features is None
        for batch, y, idx in self._loader(batches, with_image):
            if features is not None:
                batch.image = features[idx]
            yield batch.to(self.ctx.device), y.to(self.ctx.device)

    def _check_ranks(self, model: RssiModel, state: StageState, number: int, epoch: int) -> None:
        """Gather every rank's weight checksum after an epoch; log an error the first time they differ."""
        checksums = self.ctx.gather_strings(distributed.state_checksum(model))
        agreement = distributed.RankAgreement.from_dict(state.ranks)
        # state.global_epoch is incremented after this call: this epoch is the next one.
        if not agreement.record(state.global_epoch + 1, checksums) and self.ctx.is_main:
            log.error(
                "DDP ranks hold different weights after stage %d epoch %d (global epoch %d): %s",
                number,
                epoch + 1,
                state.global_epoch + 1,
                checksums,
            )
        state.ranks = agreement.to_dict()

    def _train_epoch(
        self,
        net,
        optimizer,
        stage: StageConfig,
        stage_index: int,
        number: int,
        epoch: int,
        features: Tensor | None,
    ) -> float:
        """One epoch; `stage_index` (position among enabled stages) seeds it, `number` labels it."""
        from tqdm import tqdm

        cfg, ctx, data = self.config, self.ctx, self.data
        assert data is not None and self.model is not None
        batches = epoch_batches(
            data.split.train, stage.batch_size, cfg.seed, stage_index, epoch, ctx.rank, ctx.world_size
        )
        if not batches:
            raise ValueError("the training split is empty")
        dropout = cfg.modality_dropout
        gen_seed = int(np.random.SeedSequence([cfg.seed, stage_index, epoch, ctx.rank]).generate_state(1)[0])
        gen = torch.Generator().manual_seed(gen_seed)
        net.train()
        total, count = 0.0, 0
        bar = tqdm(
            total=len(batches),
            desc=f"stage {number} epoch {epoch + 1}",
            unit="batch",
            disable=not (cfg.progress and ctx.is_main),
            leave=False,
        )
        with self._feature_mode(features is not None):
            for batch, y in self._batches(batches, features):
                if dropout.image > 0 or dropout.boxes > 0:
                    _drop_modalities(batch, dropout.image, dropout.boxes, gen)
                outputs = net(*batch.as_tuple())
                loss = training_loss(outputs, y, self.model.config, cfg.loss)
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"non-finite loss at stage {number} epoch {epoch + 1}: lower the learning rate?"
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                n = len(batch)
                total += float(loss.detach()) * n
                count += n
                bar.update(1)
                bar.set_postfix(loss=f"{total / count:.3f}")
        bar.close()
        return ctx.mean(total / max(count, 1), count)

    def _feature_mode(self, on: bool):
        assert self.model is not None
        encoder = self.model.image_encoder
        if encoder is None or not on:
            from contextlib import nullcontext

            return nullcontext()
        return encoder.precomputed_features()

    @torch.no_grad()
    def _backbone_features(self, model: RssiModel) -> Tensor:
        """Pooled backbone features of every sample (the backbone is frozen and in eval mode)."""
        from tqdm import tqdm

        data = self.data
        assert data is not None and model.image_encoder is not None
        encoder = model.image_encoder
        encoder.eval()
        all_idx = np.arange(len(data.prepared))
        chunks = eval_batches(all_idx, self.config.eval_batch_size)
        feats: list[Tensor] = []
        bar = tqdm(
            total=len(chunks),
            desc="encoder features",
            unit="batch",
            disable=not (self.config.progress and self.ctx.is_main),
            leave=False,
        )
        for batch, _, _ in self._loader(chunks, with_image=True):
            feats.append(encoder.backbone_features(batch.image.to(self.ctx.device)))
            bar.update(1)
        bar.close()
        model.train()
        return torch.cat(feats).to(self.ctx.device)

    @torch.no_grad()
    def _predict(self, model: RssiModel, indices: np.ndarray, features: Tensor | None) -> np.ndarray:
        """(n, 3) predictions [RSSI, PL, SH] in dB for the given sample indices."""
        model.eval()
        out = []
        with self._feature_mode(features is not None):
            for batch, _ in self._batches(eval_batches(indices, self.config.eval_batch_size), features):
                out.append(torch.stack(model(*batch.as_tuple()), dim=1).cpu().numpy())
        model.train()
        return np.concatenate(out) if out else np.zeros((0, 3), np.float32)

    def _validate(self, model: RssiModel, features: Tensor | None, part: str = "val") -> dict[str, Any]:
        data = self.data
        assert data is not None
        idx = data.split.part(part)
        pred = self._predict(model, idx, features)
        truth = data.prepared.targets[idx]
        out: dict[str, Any] = {
            name: regression_metrics(pred[:, i], truth[:, i]) for i, name in enumerate(("rssi", "pl", "sh"))
        }
        if idx.size:
            p, t = torch.from_numpy(pred).double(), torch.from_numpy(truth).double()
            loss = training_loss((p[:, 0], p[:, 1], p[:, 2]), t, model.config, self.config.loss)
            out["loss"] = float(loss)
        else:
            out["loss"] = float("nan")
        return out

    def _monitor_value(self, val: dict[str, Any], train_loss: float) -> float:
        """The value early stopping minimises; the training loss when the validation split is empty.

        That fallback makes early stopping and best.pt watch the training objective (no held-out
        signal at all), so it is logged once as a warning rather than happening silently.
        """
        if not val["rssi"]["n"]:
            if not self._warned_empty_val and self.ctx.is_main:
                log.warning(
                    "the validation split is empty: early stopping and best.pt watch the training "
                    "loss (monitor %s), not held-out data",
                    self.config.monitor,
                )
            self._warned_empty_val = True
            return train_loss if self.config.monitor == "loss" else math.sqrt(train_loss)
        return val["loss"] if self.config.monitor == "loss" else val["rssi"]["rmse"]

    # --- end of the run ----------------------------------------------------------------------
    def _finish(self, state: StageState, provenance: dict[str, Any]) -> dict[str, Any]:
        ctx, data, model = self.ctx, self.data, self.model
        assert data is not None and model is not None
        # The agreement comes from the live weights of every epoch (`_check_ranks`): after the
        # restore below every rank holds rank 0's best.pt, which would agree by construction.
        agreement = distributed.RankAgreement.from_dict(state.ranks)
        self._restore_best(model)
        metrics = {"val": self._validate(model, None, "val"), "test": self._validate(model, None, "test")}
        summary = {
            "model": model.config.display_name,
            "parameters": dict(parameter_counts(model)),
            "epochs_run": state.global_epoch,
            "monitor": self.config.monitor,
            "best_val_monitor": state.best_value,
            "metrics": metrics,
            "split": data.split.sizes,
            "protocol": data.split.protocol,
            "world_size": ctx.world_size,
            "rank_checksums": agreement.last_checksums,
            "ranks_agree": agreement.all_agree,
            "ranks_first_disagreement_epoch": agreement.first_disagreement,
        }
        if agreement.first_disagreement is not None and ctx.is_main:
            log.error(
                "DDP ranks held different weights from global epoch %d on (last checksums %s)",
                agreement.first_disagreement,
                agreement.last_checksums,
            )
        if ctx.is_main:
            best_path = self.ckpt_dir / BEST
            if best_path.exists():
                best = load_checkpoint(best_path)
                best.metrics = {**best.metrics, **metrics}
                save_checkpoint(best, best_path)
            last = load_checkpoint(self.ckpt_dir / LAST)
            last.training_state = {**(last.training_state or {}), "state": state.to_dict()}
            save_checkpoint(last, self.ckpt_dir / LAST)
            tmp = self.out / f".{SUMMARY_JSON}.tmp"
            tmp.write_text(json.dumps(summary, indent=2, default=float))
            tmp.replace(self.out / SUMMARY_JSON)
            test = metrics["test"]["rssi"]
            log.info(
                "done: best val %s %.3f; test RSSI RMSE %.3f dB, MAE %.3f dB, within 1 dB %.1f%% (n=%d)",
                self.config.monitor,
                state.best_value,
                test["rmse"],
                test["mae"],
                100 * test["within_1db"] if test["n"] else float("nan"),
                test["n"],
            )
        ctx.barrier()
        return summary


def stage_number(name: str) -> int:
    """The configured number of a stage (1 for "stage1"), whichever stages are enabled."""
    return STAGE_NAMES.index(name) + 1


def _differing_keys(now: dict[str, Any], then: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys whose values differ (into nested sections), so the refusal names the setting."""
    out: list[str] = []
    for k in sorted(set(now) | set(then)):
        a, b = now.get(k), then.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differing_keys(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append(f"{prefix}{k}")
    return out


def _drop_modalities(batch: Batch, p_image: float, p_boxes: float, gen: torch.Generator) -> None:
    """Hide image/boxes from random samples (flags to 0), so the model learns their "missing" vectors."""
    draw = torch.rand(len(batch), 2, generator=gen)
    flags = batch.modalities.clone()
    flags[:, 1] *= (draw[:, 0] >= p_image).to(flags.dtype)
    flags[:, 2] *= (draw[:, 1] >= p_boxes).to(flags.dtype)
    batch.modalities = flags


def _yaml(d: dict) -> str:
    import yaml

    return yaml.safe_dump(d, sort_keys=False)


def train(
    config: TrainConfig, out: str | Path, resume: bool = False, samples: Sequence[Sample] | None = None
) -> dict[str, Any]:
    """Run (or resume) a training run; returns the summary (also written to OUT/summary.json).

    `samples` replaces `data.paths` with samples in memory (tests, notebooks).
    """
    return Trainer(config, Path(out), resume, samples).run()


def config_of_run(out: str | Path) -> TrainConfig:
    """The resolved configuration a run used (from its last checkpoint)."""
    ckpt = load_checkpoint(Path(out) / CHECKPOINT_DIR / LAST)
    return config_from_dict(ckpt.provenance["config"])
