#!/usr/bin/env bash
# Reproduce every accuracy figure of docs/training.md (run from the repository root after `make setup`).
# Each step is skipped when its output exists, so an interrupted run continues where it stopped.
#   bash tools/reproduce_figures.sh            # ~45 min on a 2-core CPU
#   RUNS=/tmp/runs bash tools/reproduce_figures.sh
set -euo pipefail
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-runs}
REAL=${REAL:-../shared/data/deepsense}
SCENE=$RUNS/synth/train_scene

train_and_evaluate() {  # name, config, evaluate flags, then training overrides
  local name=$1 config=$2 eval_flags=$3
  shift 3
  local out=$RUNS/$name
  if [[ ! -f $out/summary.json ]]; then
    local resume=()
    [[ -f $out/checkpoints/last.pt ]] && resume=(--resume)
    $PY -m rssi_ros train --config "$config" --out "$out" --no-progress "${resume[@]}" "$@"
  fi
  if [[ ! -f $out/eval/evaluation.json ]]; then
    # shellcheck disable=SC2086
    $PY -m rssi_ros evaluate --checkpoint "$out/checkpoints/best.pt" --out "$out/eval" $eval_flags
  fi
}

# 1. Real DeepSense 6G (power + GPS only): position-only model, both split protocols.
if [[ -d $REAL ]]; then
  train_and_evaluate real_position_drive rssi_ros/config/train_real_position.yaml "" --data "$REAL"
  train_and_evaluate real_position_frame rssi_ros/config/train_real_position.yaml "" --data "$REAL" \
    data.protocol=frame
else
  echo "skipping the real-data figures: $REAL not found" >&2
fi

# 2. A generated scene set (3000 frames, seed 1): four variants, Table III and Table IV.
[[ -f $SCENE/scenario100.csv ]] || $PY -m rssi_ros synth --out "$SCENE" --frames 3000 --seed 1 --no-progress
SYN=rssi_ros/config/train_synthetic.yaml
train_and_evaluate synthetic/decomposed_learned "$SYN" --no-interference --data "$SCENE"
train_and_evaluate synthetic/decomposed_analytic "$SYN" --no-interference --data "$SCENE" model.pl_mode=analytic
train_and_evaluate synthetic/brute_force "$SYN" --no-interference --data "$SCENE" model.architecture=brute_force
train_and_evaluate synthetic/position_only "$SYN" --no-interference --data "$SCENE" "model.modalities=[position]"

$PY tools/collect_figures.py "$RUNS"
