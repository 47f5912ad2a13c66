# Shared by the task scripts (sourced, not run): source training -> source-only evaluation ->
# adaptation -> evaluation, stopping at the first failure.
#
# A task script sets TASK, SOURCE, TARGET, SOURCE_ARGS and ADAPT_ARGS, then calls run_task.
# Environment (all optional):
#   SEED=0                 seed of both training runs
#   PREFIX=<task>-seed<SEED>  name of the run: snapshots <SNAPSHOT_DIR>/<PREFIX>_source and
#                          <PREFIX>_adda, records <RESULTS_DIR>/<PREFIX>/ (or the first argument);
#                          with other iteration counts than the task's, the default name ends
#                          in -it<source>+<adaptation> (e.g. usps-mnist-seed0-it200+200), so a
#                          short run never takes the name of a full one
#   SNAPSHOT_DIR=snapshot  RESULTS_DIR=results
#   PYTHON=python          DEVICE=auto (cpu, gpu, npu)   PRECISION= (mixed, fp32, ...)
#   SOURCE_ITERATIONS / ADAPT_ITERATIONS  override the task's iteration counts (10000)
#   TRAIN_ARGS             extra options for both training tools (e.g. "--steps_per_run 10")
# Training runs with --resume: an interrupted pipeline continues where it stopped, and a
# finished one is not trained again (remove its snapshot folders to start over).
# <RESULTS_DIR>/<PREFIX>/run.yaml records how the run is made (task, seed, datasets, iteration
# counts, the tools' arguments, device); a run whose run.yaml says otherwise than the settings
# of this invocation is refused before anything runs, so two settings never mix in one run.
# A recipe task (scripts/<task>-plus.sh, run names <task>-plus-seed<SEED>) also sets:
#   SELECT=1               after adaptation: choose a snapshot without target labels
#                          (tools/select_snapshot.py -> selection.yaml), evaluate it
#                          (selected_{train,test}.yaml), and record every kept snapshot's
#                          accuracy on the target train split (curve_train.yaml; labels used
#                          only to draw curves and to show the oracle choice in the report)
# For sweeps that run several runs at once (scripts/reproduce.sh, npu_train.sh, scripts/slurm/):
#   PIN_DEVICE=ID          keep the run on one device of its platform (DEVICE; auto is resolved
#                          as the tools resolve it): the NPU through ASCEND_DEVICE_ID and DEVICE_ID
#                          (as ModelZoo's multi-card scripts), a GPU through CUDA_VISIBLE_DEVICES,
#                          the CPU on the cores ID (a taskset list: 3, 0-3, 0,2), from which the
#                          tools size their thread pools
#   SKIP_FINISHED=1        do nothing when the run's four evaluation records exist
#   RUN_LOCK=fail          a run holds <SNAPSHOT_DIR>/.locks/<PREFIX>.lock (flock) while it trains and
#                          evaluates, so no two processes run it at once; the kernel drops the
#                          lock when the process ends, so a killed run leaves none behind. When
#                          another process holds it: fail exits with status 75 (RUN_BUSY), wait
#                          waits for it (and then, with SKIP_FINISHED=1, finds the run done).
set -euo pipefail
SCRIPT=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")  # the script that sourced this one
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The task's own iteration counts; a task script may set others before run_task.
TASK_SOURCE_ITERATIONS=10000 TASK_ADAPT_ITERATIONS=10000
SEED=${SEED:-0}
SNAPSHOT_DIR=${SNAPSHOT_DIR:-snapshot}
RESULTS_DIR=${RESULTS_DIR:-results}
PYTHON=${PYTHON:-python}
DEVICE_ARGS=(--device "${DEVICE:-auto}")
if [ -n "${PRECISION:-}" ]; then DEVICE_ARGS+=(--precision "$PRECISION"); fi
read -r -a EXTRA_TRAIN_ARGS <<< "${TRAIN_ARGS:-}"

say() { printf '\n==> %s\n' "$*"; }

accuracy_of() { awk '/^accuracy:/ {printf "%.4f", $2}' "$1"; }

# evaluate NAME SNAPSHOT_PATH: accuracy on the target's train split (the paper's protocol) and
# test, recorded as NAME_{train,test}.yaml.
evaluate() {
  local split
  for split in train test; do
    say "Evaluating $1 on $TARGET $split"
    "$PYTHON" tools/eval_classification.py "$TARGET" "$split" lenet "$2" \
      --output "$RESULTS/$1_$split.yaml" "${DEVICE_ARGS[@]}"
  done
}

RUN_BUSY=75

# source_iterations, adapt_iterations: this run's counts (the environment's, or the task's).
source_iterations() { echo "${SOURCE_ITERATIONS:-$TASK_SOURCE_ITERATIONS}"; }
adapt_iterations() { echo "${ADAPT_ITERATIONS:-$TASK_ADAPT_ITERATIONS}"; }

# task_settings: whether the iteration counts and training options are the task's own.
task_settings() {
  [ "$(source_iterations)" = "$TASK_SOURCE_ITERATIONS" ] &&
    [ "$(adapt_iterations)" = "$TASK_ADAPT_ITERATIONS" ] && [ -z "${TRAIN_ARGS:-}" ]
}

# default_run_name: the run's name when none is given (see PREFIX above).
default_run_name() {
  local name=$TASK-seed$SEED
  if [ "$(source_iterations)" != "$TASK_SOURCE_ITERATIONS" ] ||
     [ "$(adapt_iterations)" != "$TASK_ADAPT_ITERATIONS" ]; then
    name+=-it$(source_iterations)+$(adapt_iterations)
  fi
  echo "$name"
}

# run_name_of TASK SEED: the default name of a run of scripts/TASK.sh (asked of the script,
# which knows its own iteration counts).
run_name_of() { SEED=$2 DESCRIBE_RUN=name bash "scripts/$1.sh"; }

# quoted WORD...: the words as one single-quoted YAML string.
quoted() { local text="$*"; printf "'%s'" "${text//\'/\'\'}"; }

# run_yaml: what run.yaml says of this run; the same settings always give the same text.
run_yaml() {
  printf 'task: %s\nseed: %s\nsource: %s\ntarget: %s\n' "$TASK" "$SEED" "$SOURCE" "$TARGET"
  printf 'snapshots: [%s, %s]\n' "$SNAPSHOT_DIR/${PREFIX}_source" "$SNAPSHOT_DIR/${PREFIX}_adda"
  printf 'source_iterations: %s\nadapt_iterations: %s\n' "$(source_iterations)" \
    "$(adapt_iterations)"
  printf 'task_settings: %s\n' "$(task_settings && echo true || echo false)"
  printf 'source_args: %s\n' "$(quoted "${SOURCE_ARGS[@]}")"
  printf 'adapt_args: %s\n' "$(quoted "${ADAPT_ARGS[@]}")"
  printf 'train_args: %s\n' "$(quoted "${TRAIN_ARGS:-}")"
  printf 'device: %s\nprecision: %s\n' "${DEVICE:-auto}" "$(quoted "${PRECISION:-}")"
  printf 'select: %s\n' "$([ "${SELECT:-}" = 1 ] && echo true || echo false)"
}

# finished RESULTS [RUN_YAML]: the evaluation records of a run exist (and a recipe run's
# choice), and its run.yaml is RUN_YAML (when given): made with these settings.
finished() {
  local name names=(source_only_train source_only_test adda_train adda_test)
  case "$(basename "$1")" in
    *-plus-seed*) names+=(selected_train selected_test curve_train) ;;
  esac
  for name in "${names[@]}"; do
    [ -f "$1/$name.yaml" ] || return 1
  done
  if [ $# -gt 1 ]; then [ "$(cat "$1/run.yaml" 2> /dev/null)" = "$2" ] || return 1; fi
}

# settings_differences OLD NEW: 'key: old -> new' for each line that differs.
settings_differences() {
  local key value old
  while IFS= read -r line; do
    key=${line%%:*} value=${line#*: }
    old=$(grep -m1 "^$key: " <<< "$1" | cut -d' ' -f2- || true)
    if [ "$old" != "$value" ]; then printf '  %s: %s -> %s\n' "$key" "${old:-(none)}" "$value"; fi
  done <<< "$2"
}

# usage: the comment block at the top of the task script, without the '# '.
usage() {
  sed -n '2,/^[^#]/p' "$SCRIPT" | sed -n 's/^# \{0,1\}//p'
}

# parse_arguments ARG...: [-h|--help] [PREFIX]; anything else is refused with one line.
parse_arguments() {
  case "${1:-}" in
    -h|--help) usage; exit 0 ;;
    -*) echo "Error: unknown option $1 (usage: bash $0 [PREFIX]; settings through the" \
             "environment, see bash $0 --help)" >&2; exit 2 ;;
  esac
  if [ $# -gt 1 ]; then
    echo "Error: one run name at most, got $# arguments: $* (see bash $0 --help)" >&2
    exit 2
  fi
}

# with_lock FILE COMMAND...: run COMMAND holding FILE's flock (waiting for it), so that two
# runs sharing a source model train it once.
with_lock() {
  local lock=$1
  shift
  if ! command -v flock > /dev/null; then "$@"; return; fi
  mkdir -p "$(dirname "$lock")"
  ( flock 8; "$@" ) 8>> "$lock"
}

# select_snapshot ADAPT_OUT: the label-free choice among the adaptation run's snapshots, its
# evaluation, and (for pictures only) every snapshot's accuracy on the target train split.
select_snapshot() {
  say "Choosing a snapshot of $1 without target labels"
  "$PYTHON" tools/select_snapshot.py "$SOURCE:train" "$TARGET:train" lenet "$SNAPSHOT_DIR/$1" \
    --output "$RESULTS/selection.yaml" "${DEVICE_ARGS[@]}"
  local chosen
  chosen=$("$PYTHON" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["chosen"]["path"])' \
    "$RESULTS/selection.yaml")
  evaluate selected "$chosen"
  say "Accuracy of every kept snapshot on $TARGET train (for the curves; labels used here only)"
  "$PYTHON" tools/snapshot_curve.py "$TARGET" train lenet "$SNAPSHOT_DIR/$1" \
    --output "$RESULTS/curve_train.yaml" "${DEVICE_ARGS[@]}"
}

# platform_of DEVICE: cpu, gpu or npu; auto is resolved as the tools resolve it.
platform_of() {
  case "$1" in
    cpu|gpu|npu) echo "$1" ;;
    auto) "$PYTHON" -c 'from adda.session import resolve_device; print(resolve_device("auto"))' \
            2> /dev/null | tail -n 1 | grep -xE 'cpu|gpu|npu' ||
            { echo "Error: cannot tell which device DEVICE=auto means ($PYTHON could not run" \
                   "adda.session.resolve_device); set DEVICE to cpu, gpu or npu" >&2; return 1; } ;;
    *) echo "Error: unknown DEVICE $1 (choose from auto, cpu, gpu, npu)" >&2; return 1 ;;
  esac
}

# default_devices PLATFORM JOBS: one device per job: ids 0..JOBS-1 on the NPU and GPU; on the
# CPU the cores this process may use, split into JOBS equal sets (shared when JOBS > cores).
default_devices() {
  if [ "$1" != cpu ]; then seq -s ' ' 0 $(($2 - 1)); return; fi
  "$PYTHON" -c 'import os, sys
jobs = int(sys.argv[1])
cores = sorted(os.sched_getaffinity(0))
size = max(1, len(cores) // jobs)
print(" ".join(",".join(map(str, cores[i * size % len(cores):][:size])) for i in range(jobs)))' "$2"
}

# check_devices PLATFORM DEVICE...: one error line for a device the platform cannot be pinned to.
check_devices() {
  local platform=$1 device
  shift
  for device in "$@"; do
    case "$platform" in
      npu) [[ $device =~ ^[0-9]+$ ]] ||
             { echo "Error: DEVICES: $device is not an NPU id (0, 1, ...)" >&2; return 1; } ;;
      cpu) command -v taskset > /dev/null ||
             { echo "Error: pinning runs to CPU cores needs taskset (util-linux)" >&2; return 1; }
           taskset -c "$device" true 2> /dev/null ||
             { echo "Error: DEVICES: $device is not a list of cores this process may use" \
                    "(taskset -c syntax: 3, 0-3, 0,2)" >&2; return 1; } ;;
    esac
  done
}

pin_run() {
  [ -n "${PIN_DEVICE:-}" ] || return 0
  local platform
  platform=$(platform_of "${DEVICE:-auto}") || exit 1
  case "$platform" in
    npu) export ASCEND_DEVICE_ID=$PIN_DEVICE DEVICE_ID=$PIN_DEVICE ;;
    gpu) export CUDA_VISIBLE_DEVICES=$PIN_DEVICE ;;
    cpu)
      if ! command -v taskset > /dev/null; then
        echo "Error: PIN_DEVICE on the CPU needs taskset (util-linux), which is not installed" >&2
        exit 1
      fi
      if ! taskset -pc "$PIN_DEVICE" $$ > /dev/null 2>&1; then
        echo "Error: PIN_DEVICE=$PIN_DEVICE is not a list of cores this process may use" \
             "(taskset -c syntax: 3, 0-3, 0,2)" >&2
        exit 1
      fi
      OMP_NUM_THREADS=$(nproc)
      export OMP_NUM_THREADS ;;
  esac
  say "Pinned to $platform $PIN_DEVICE"
}

lock_run() {
  local lock=$SNAPSHOT_DIR/.locks/$PREFIX.lock
  case "${RUN_LOCK:-fail}" in
    fail|wait) ;;
    *) echo "Error: unknown RUN_LOCK ${RUN_LOCK} (choose from fail, wait)" >&2; exit 1 ;;
  esac
  if ! command -v flock > /dev/null; then
    echo "Note: flock (util-linux) is not installed: $PREFIX runs without its lock" >&2
    return 0
  fi
  mkdir -p "$SNAPSHOT_DIR/.locks"
  exec {RUN_LOCK_FD}>> "$lock"
  flock -n "$RUN_LOCK_FD" && return 0
  if [ "${RUN_LOCK:-fail}" = wait ]; then
    say "$PREFIX is running in another process (it holds $lock): waiting for it"
    flock "$RUN_LOCK_FD"
  else
    echo "Error: $PREFIX is running in another process (it holds $lock)" >&2
    exit "$RUN_BUSY"
  fi
}

run_task() {
  parse_arguments "$@"
  # DESCRIBE_RUN=name: print the default name of this run, and stop
  if [ "${DESCRIBE_RUN:-}" = name ]; then default_run_name; return 0; fi
  PREFIX=${1:-${PREFIX:-$(default_run_name)}}
  RESULTS=$RESULTS_DIR/$PREFIX
  local source_out=${PREFIX}_source adapt_out=${PREFIX}_adda started=$SECONDS settings
  settings=$(run_yaml)
  # DESCRIBE_RUN=1: print the run.yaml this run would have, and stop (scripts/reproduce.sh)
  if [ "${DESCRIBE_RUN:-}" = 1 ]; then echo "$settings"; return 0; fi
  if [ -f "$RESULTS/run.yaml" ] && [ "$(cat "$RESULTS/run.yaml")" != "$settings" ]; then
    echo "Error: $RESULTS holds a run made with other settings (old -> new):" >&2
    settings_differences "$(cat "$RESULTS/run.yaml")" "$settings" >&2
    echo "Remove $RESULTS and $SNAPSHOT_DIR/{$source_out,$adapt_out} to make it again," \
         "or give this run another name (PREFIX or the first argument)" >&2
    exit 1
  fi
  pin_run
  lock_run
  if [ "${SKIP_FINISHED:-}" = 1 ] && finished "$RESULTS"; then
    say "$PREFIX: finished earlier, skipping"
    return 0
  fi
  mkdir -p "$RESULTS"
  echo "$settings" > "$RESULTS/run.yaml.tmp"
  mv "$RESULTS/run.yaml.tmp" "$RESULTS/run.yaml"

  say "Training the source model on $SOURCE train ($source_out, seed $SEED)"
  with_lock "$SNAPSHOT_DIR/.locks/$source_out.lock" \
    "$PYTHON" tools/train.py "$SOURCE" train lenet "$source_out" "${SOURCE_ARGS[@]}" \
    --seed "$SEED" --resume --snapshot_dir "$SNAPSHOT_DIR" "${DEVICE_ARGS[@]}" \
    "${EXTRA_TRAIN_ARGS[@]}"
  evaluate source_only "$SNAPSHOT_DIR/$source_out"

  say "Adapting $SOURCE -> $TARGET ($adapt_out, seed $SEED)"
  "$PYTHON" tools/train_adda.py "$SOURCE:train" "$TARGET:train" lenet "$adapt_out" \
    --weights "$SNAPSHOT_DIR/$source_out" "${ADAPT_ARGS[@]}" --seed "$SEED" --resume \
    --snapshot_dir "$SNAPSHOT_DIR" "${DEVICE_ARGS[@]}" "${EXTRA_TRAIN_ARGS[@]}"
  evaluate adda "$SNAPSHOT_DIR/$adapt_out"
  if [ "${SELECT:-}" = 1 ]; then select_snapshot "$adapt_out"; fi

  say "$TASK ($PREFIX): accuracy on $TARGET train / test, after $((SECONDS - started)) s"
  printf 'Source only: %s / %s\n' "$(accuracy_of "$RESULTS/source_only_train.yaml")" \
    "$(accuracy_of "$RESULTS/source_only_test.yaml")"
  printf 'ADDA:        %s / %s\n' "$(accuracy_of "$RESULTS/adda_train.yaml")" \
    "$(accuracy_of "$RESULTS/adda_test.yaml")"
  if [ "${SELECT:-}" = 1 ]; then
    printf 'Chosen:      %s / %s\n' "$(accuracy_of "$RESULTS/selected_train.yaml")" \
      "$(accuracy_of "$RESULTS/selected_test.yaml")"
  fi
}
