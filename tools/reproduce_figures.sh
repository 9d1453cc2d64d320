#!/usr/bin/env bash
# Reproduce every accuracy figure of docs/training.md (run from the repository root after `make setup`).
# Each step is skipped when its output exists, so an interrupted run continues where it stopped.
#   bash tools/reproduce_figures.sh            # about 90 min on a 2-core CPU
#   RUNS=/tmp/runs bash tools/reproduce_figures.sh
set -euo pipefail
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-runs}
REAL=${REAL:-../shared/data/deepsense}

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

# 2. Generated scene sets of 3000 frames: with traffic (distractors, some of which block the link) and
#    a clear one (no moving distractors: shadowing and noise only). Four variants each, Table III and
#    Table IV (the same model scored with the distractor boxes removed), plus a model trained and
#    tested on the transmitter's box alone (preprocess.interference_removed=true).
SYN=rssi_ros/config/train_synthetic.yaml
NO_TRAFFIC=("traffic.mean_per_drive={car: 0, truck: 0, bus: 0, motorcycle: 0, bicycle: 0, person: 0}"
            "traffic.escort_probability=0")
make_scene() {  # scene folder, seed, synth --set overrides...
  local scene=$1 seed=$2
  shift 2
  local sets=()
  for o in "$@"; do sets+=(--set "$o"); done
  [[ -f $scene/scenario100.csv ]] || $PY -m rssi_ros synth --out "$scene" --frames 3000 --seed "$seed" \
    --no-progress "${sets[@]}"
}
variants() {  # run folder name, scene folder, training overrides shared by the variants...
  local name=$1 scene=$2
  shift 2
  train_and_evaluate "$name/decomposed_learned" "$SYN" --no-interference --data "$scene" "$@"
  train_and_evaluate "$name/decomposed_analytic" "$SYN" --no-interference --data "$scene" "$@" \
    model.pl_mode=analytic
  train_and_evaluate "$name/brute_force" "$SYN" --no-interference --data "$scene" "$@" \
    model.architecture=brute_force
  train_and_evaluate "$name/position_only" "$SYN" --no-interference --data "$scene" "$@" \
    "model.modalities=[position]"
  train_and_evaluate "$name/tx_box_only" "$SYN" "" --data "$scene" "$@" preprocess.interference_removed=true
}
make_scene "$RUNS/synth/train_scene" 1
make_scene "$RUNS/synth/clear_scene" 2 "${NO_TRAFFIC[@]}"
variants synthetic "$RUNS/synth/train_scene"
variants synthetic_clear "$RUNS/synth/clear_scene"
# 3. The held-out drives protocol on the scene set with traffic (36 drives: 4 test, 4 validation).
#    Early stopping watches the validation loss: with 4 validation drives the RSSI RMSE is too
#    noisy to pick an epoch (docs/training.md, "The schedule").
variants synthetic_drive "$RUNS/synth/train_scene" data.protocol=drive monitor=loss

$PY tools/collect_figures.py "$RUNS" --plot "$RUNS/figures_synthetic.png"
