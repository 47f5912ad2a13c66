#!/usr/bin/env bash
# Run the transfer tasks over several seeds, then print the results table.
#
# Usage: bash scripts/reproduce.sh [TASK...]     (default: mnist-usps usps-mnist svhn-mnist)
# Environment: SEEDS="0 1 2 3 4", RESULTS_DIR=results, SNAPSHOT_DIR=snapshot, PYTHON=python,
# and everything scripts/common.sh takes (DEVICE, TRAIN_ARGS, ...).
#
# Runs are named <task>-seed<seed>. A run whose four evaluation records exist is skipped, and
# an interrupted run resumes from its snapshots, so rerunning after a finished sweep trains
# nothing and prints the same table. A task whose data is not on disk is skipped with a note.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
SEEDS=${SEEDS:-0 1 2 3 4}
export RESULTS_DIR=${RESULTS_DIR:-results}
TASKS=("$@")
if [ ${#TASKS[@]} -eq 0 ]; then TASKS=(mnist-usps usps-mnist svhn-mnist); fi

datasets_of() {
  case "$1" in
    mnist-usps|usps-mnist) echo mnist usps ;;
    svhn-mnist) echo svhn mnist ;;
    *) echo "Unknown task $1 (known: mnist-usps usps-mnist svhn-mnist)" >&2; return 1 ;;
  esac
}

finished() {
  local name
  for name in source_only_train source_only_test adda_train adda_test; do
    [ -f "$RESULTS_DIR/$1/$name.yaml" ] || return 1
  done
}

for task in "${TASKS[@]}"; do
  datasets=$(datasets_of "$task")
  # shellcheck disable=SC2086
  if ! missing=$("$PYTHON" -m adda.data check $datasets); then
    echo "Skipping $task: its data is not on disk:"
    echo "$missing" | sed 's/^/    /'
    echo "    (put the files there, or run scripts/$task.sh once with network access)"
    continue
  fi
  for seed in $SEEDS; do
    prefix=$task-seed$seed
    if finished "$prefix"; then
      echo "$prefix: finished earlier, skipping"
      continue
    fi
    echo "$prefix: running scripts/$task.sh"
    SEED=$seed bash "scripts/$task.sh" "$prefix"
  done
done

"$PYTHON" tools/report.py "$RESULTS_DIR" --png "$RESULTS_DIR/results.png" \
  --markdown "$RESULTS_DIR/results.md"
