"""`python -m rssi_ros train [--config YAML] [key=value ...] [--data PATH...] [--out DIR] [--resume] ...`.

Multi-process: `torchrun --nproc_per_node N -m rssi_ros train ...` (gloo on CPU, nccl on CUDA).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_CONFIG_NAME = "train.yaml"
# Exit status of a run that started but could not finish (2 is a refused configuration).
EXIT_TRAINING_FAILED = 1


def default_config_path() -> Path | None:
    """`rssi_ros/config/train.yaml` of the source tree, or of the installed ament share folder."""
    here = Path(__file__).resolve()
    candidates = [here.parents[2] / "config" / DEFAULT_CONFIG_NAME]
    try:
        from ament_index_python.packages import get_package_share_directory

        candidates.append(Path(get_package_share_directory("rssi_ros")) / "config" / DEFAULT_CONFIG_NAME)
    except Exception:  # no ament index (plain pip install) or package not registered
        pass
    return next((c for c in candidates if c.is_file()), None)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="config overrides, e.g. stage1.epochs=20 model.pl_mode=analytic",
    )
    parser.add_argument("--config", type=Path, help="training YAML (default: rssi_ros/config/train.yaml)")
    parser.add_argument("--data", nargs="+", help="dataset paths (replace data.paths of the config)")
    parser.add_argument("--out", type=Path, help="run folder (default: runs/<config name>)")
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --out from checkpoints/last.pt"
    )
    parser.add_argument("--device", help="cpu | cuda | cuda:N (default from the config: cpu)")
    parser.add_argument("--max-epochs", type=int, help="cap every stage at N epochs (quick trials)")
    parser.add_argument(
        "--limit-samples", type=int, help="use at most N samples, evenly spread (smoke tests)"
    )
    parser.add_argument(
        "--encoder-weights", help="image backbone weights: 'hub' (timm, needs network) or a file"
    )
    parser.add_argument("--seed", type=int, help="training seed (weights, batch order)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (logs only)")


def _split_overrides(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """`--data a b key=value` puts the override into --data; move such entries back."""
    data, overrides = [], list(args.overrides)
    for item in args.data or []:
        if "=" in item and not Path(item).exists():
            overrides.append(item)
        else:
            data.append(item)
    return data, overrides


def run(args: argparse.Namespace) -> int:
    from rssi_ros.model.checkpoint import CheckpointError
    from rssi_ros.training.config import load_config
    from rssi_ros.training.trainer import train

    data, overrides = _split_overrides(args)
    flags = {
        "data.paths": data or None,
        "device": args.device,
        "max_epochs": args.max_epochs,
        "data.limit_samples": args.limit_samples,
        "model.encoder_weights": args.encoder_weights,
        "seed": args.seed,
        "progress": False if args.no_progress else None,
    }
    overrides += [f"{k}={_yaml_value(v)}" for k, v in flags.items() if v is not None]
    config_path = args.config or default_config_path()
    try:
        config = load_config(config_path, overrides)
    except (ValueError, FileNotFoundError) as exc:
        log.error("train: %s", exc)
        return 2
    out = args.out or Path("runs") / (config_path.stem if config_path else "train")
    log.info("config %s, run folder %s", config_path or "(defaults)", out)
    try:
        summary = train(config, out, resume=args.resume)
    except (ValueError, FileNotFoundError, FileExistsError, CheckpointError) as exc:
        log.error("train: %s", exc)
        return 2
    except (FloatingPointError, RuntimeError) as exc:
        # A non-finite loss, CUDA unavailable, out of memory, ...: one line for the user; the
        # traceback is there for `-v` (debug logging) when it is a bug rather than a setting.
        log.error("train: %s", _one_line(exc))
        log.debug("train failed", exc_info=True)
        return EXIT_TRAINING_FAILED
    if summary:
        test = summary["metrics"]["test"]["rssi"]
        print(
            f"{summary['model']}: test RSSI RMSE {test['rmse']:.3f} dB, MAE {test['mae']:.3f} dB, "
            f"within 1 dB {test['within_1db']:.1%} (n={test['n']}); checkpoints in {out / 'checkpoints'}"
        )
    return 0


def _one_line(exc: BaseException) -> str:
    """The exception's message on one line (torch's messages span several)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _yaml_value(v: object) -> str:
    import json

    return json.dumps(v) if isinstance(v, list | bool) else str(v)
