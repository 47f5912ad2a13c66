# Shared by the task scripts (sourced, not run): source training -> source-only evaluation ->
# adaptation -> evaluation, stopping at the first failure.
#
# A task script sets TASK, SOURCE, TARGET, SOURCE_ARGS and ADAPT_ARGS, then calls run_task.
# Environment (all optional):
#   SEED=0                 seed of both training runs
#   PREFIX=<task>-seed<SEED>  name of the run: snapshots <SNAPSHOT_DIR>/<PREFIX>_source and
#                          <PREFIX>_adda, records <RESULTS_DIR>/<PREFIX>/ (or the first argument)
#   SNAPSHOT_DIR=snapshot  RESULTS_DIR=results
#   PYTHON=python          DEVICE=auto (cpu, gpu, npu)   PRECISION= (mixed, fp32, ...)
#   SOURCE_ITERATIONS / ADAPT_ITERATIONS  override the task's iteration counts
#   TRAIN_ARGS             extra options for both training tools (e.g. "--steps_per_run 10")
# Training runs with --resume: an interrupted pipeline continues where it stopped, and a
# finished one is not trained again (remove its snapshot folders to start over).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SEED=${SEED:-0}
SNAPSHOT_DIR=${SNAPSHOT_DIR:-snapshot}
RESULTS_DIR=${RESULTS_DIR:-results}
PYTHON=${PYTHON:-python}
DEVICE_ARGS=(--device "${DEVICE:-auto}")
if [ -n "${PRECISION:-}" ]; then DEVICE_ARGS+=(--precision "$PRECISION"); fi
read -r -a EXTRA_TRAIN_ARGS <<< "${TRAIN_ARGS:-}"

say() { printf '\n==> %s\n' "$*"; }

accuracy_of() { awk '/^accuracy:/ {print $2}' "$1"; }

# evaluate NAME SNAPSHOT: accuracy on the target's train split (the paper's protocol) and test.
evaluate() {
  local split
  for split in train test; do
    say "Evaluating $1 on $TARGET $split"
    "$PYTHON" tools/eval_classification.py "$TARGET" "$split" lenet "$SNAPSHOT_DIR/$2" \
      --output "$RESULTS/$1_$split.yaml" "${DEVICE_ARGS[@]}"
  done
}

run_task() {
  PREFIX=${1:-${PREFIX:-$TASK-seed$SEED}}
  RESULTS=$RESULTS_DIR/$PREFIX
  local source_out=${PREFIX}_source adapt_out=${PREFIX}_adda started=$SECONDS
  mkdir -p "$RESULTS"
  printf 'task: %s\nseed: %s\nsource: %s\ntarget: %s\nsnapshots: [%s, %s]\n' "$TASK" "$SEED" \
    "$SOURCE" "$TARGET" "$SNAPSHOT_DIR/$source_out" "$SNAPSHOT_DIR/$adapt_out" > "$RESULTS/run.yaml"

  say "Training the source model on $SOURCE train ($source_out, seed $SEED)"
  "$PYTHON" tools/train.py "$SOURCE" train lenet "$source_out" "${SOURCE_ARGS[@]}" \
    --seed "$SEED" --resume --snapshot_dir "$SNAPSHOT_DIR" "${DEVICE_ARGS[@]}" \
    "${EXTRA_TRAIN_ARGS[@]}"
  evaluate source_only "$source_out"

  say "Adapting $SOURCE -> $TARGET ($adapt_out, seed $SEED)"
  "$PYTHON" tools/train_adda.py "$SOURCE:train" "$TARGET:train" lenet "$adapt_out" \
    --weights "$SNAPSHOT_DIR/$source_out" "${ADAPT_ARGS[@]}" --seed "$SEED" --resume \
    --snapshot_dir "$SNAPSHOT_DIR" "${DEVICE_ARGS[@]}" "${EXTRA_TRAIN_ARGS[@]}"
  evaluate adda "$adapt_out"

  say "$TASK ($PREFIX): accuracy on $TARGET train / test, after $((SECONDS - started)) s"
  printf 'Source only: %s / %s\n' "$(accuracy_of "$RESULTS/source_only_train.yaml")" \
    "$(accuracy_of "$RESULTS/source_only_test.yaml")"
  printf 'ADDA:        %s / %s\n' "$(accuracy_of "$RESULTS/adda_train.yaml")" \
    "$(accuracy_of "$RESULTS/adda_test.yaml")"
}
