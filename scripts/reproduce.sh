#!/usr/bin/env bash
# Run the transfer tasks over several seeds, then print the results table.
#
# Usage: bash scripts/reproduce.sh [TASK...]     (default: mnist-usps usps-mnist svhn-mnist;
#        the stabilised recipe's tasks are mnist-usps-plus usps-mnist-plus)
# Environment: SEEDS="0 1 2 3 4", RESULTS_DIR=results, SNAPSHOT_DIR=snapshot, PYTHON=python,
# and everything scripts/common.sh takes (DEVICE, TRAIN_ARGS, ...).
#
# Runs are named <task>-seed<seed>. A run whose four evaluation records exist is skipped, and
# an interrupted run resumes from its snapshots, so rerunning after a finished sweep trains
# nothing and prints the same table. A task whose data is not on disk is skipped with a note.
# A run that fails does not stop the others; the table shows the runs that finished, and the
# exit status is 1 when any run did not finish. Ctrl-C stops the sweep (exit status 130): the
# runs under way save their snapshots, no other starts, and the next sweep resumes them.
#
# Several runs at once: JOBS=N runs up to N at a time, DEVICES="0 1 ..." one device each (by
# default JOBS = the number of DEVICES). Each run is pinned to its device (PIN_DEVICE in
# scripts/common.sh): NPU and GPU ids, or on the CPU sets of cores in taskset syntax
# ("0-3 4-7"); without DEVICES, ids 0..N-1, or on the CPU this machine's cores split into N
# sets. DEVICE=auto is resolved once, as the tools resolve it. Each run then writes its output
# to LOG_DIR/<run>.log (default RESULTS_DIR/logs, appended) and this script prints a line when
# it starts and ends. Every run holds a lock while it runs, so two sweeps started on the same
# folders share the runs: a run that another process holds is waited for at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
SEEDS=${SEEDS:-0 1 2 3 4}
export RESULTS_DIR=${RESULTS_DIR:-results}
TASKS=("$@")
if [ ${#TASKS[@]} -eq 0 ]; then TASKS=(mnist-usps usps-mnist svhn-mnist); fi
# shellcheck source=common.sh
source scripts/common.sh
if [ -n "${JOBS:-}" ] && ! [[ $JOBS =~ ^[1-9][0-9]*$ ]]; then
  echo "Error: JOBS=$JOBS is not a whole number of at least 1" >&2
  exit 1
fi

datasets_of() {
  case "$1" in
    mnist-usps|usps-mnist|mnist-usps-plus|usps-mnist-plus) echo mnist usps ;;
    svhn-mnist) echo svhn mnist ;;
    *) echo "Unknown task $1 (known: mnist-usps usps-mnist svhn-mnist, and the recipe's" \
            "mnist-usps-plus usps-mnist-plus)" >&2; return 1 ;;
  esac
}

# Sequential (the default) or pinned: with JOBS or DEVICES set, one worker per job. The runs
# then get DEVICE resolved (auto -> cpu, gpu or npu), once, here: before the finished check
# below, which compares each run.yaml (it records the device) with what the run would write.
parallel=
if [ -n "${JOBS:-}${DEVICES:-}" ]; then
  parallel=1
  platform=$(platform_of "${DEVICE:-auto}")
  export DEVICE=$platform
fi

# The runs to do: RUN_TASK[i], RUN_SEED[i], RUN_NAME[i]; ALL_RUNS names every run of the sweep,
# RUN_YAML[name] what its run.yaml must say.
RUN_TASK=() RUN_SEED=() RUN_NAME=() ALL_RUNS=()
declare -A RUN_YAML=()
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
    prefix=$(run_name_of "$task" "$seed")
    ALL_RUNS+=("$prefix")
    # finished earlier with these settings (scripts/common.sh: run.yaml)
    expected=$(SEED=$seed DESCRIBE_RUN=1 bash "scripts/$task.sh" "$prefix")
    RUN_YAML[$prefix]=$expected
    if finished "$RESULTS_DIR/$prefix" "$expected"; then
      echo "$prefix: finished earlier, skipping"
      continue
    fi
    RUN_TASK+=("$task") RUN_SEED+=("$seed") RUN_NAME+=("$prefix")
  done
done

jobs=${JOBS:-1}
devices=()
if [ -n "$parallel" ] && [ ${#RUN_NAME[@]} -gt 0 ]; then
  read -r -a devices <<< "${DEVICES:-}"
  jobs=${JOBS:-${#devices[@]}}
  if [ "$jobs" -eq 0 ]; then jobs=1; fi
  if [ ${#devices[@]} -eq 0 ]; then read -r -a devices <<< "$(default_devices "$platform" "$jobs")"; fi
  check_devices "$platform" "${devices[@]}"
  LOG_DIR=${LOG_DIR:-$RESULTS_DIR/logs}
  mkdir -p "$LOG_DIR"
  echo "Running ${#RUN_NAME[@]} runs, up to $jobs at once, on $platform ${devices[*]}"
fi

claims=$(mktemp -d)
trap 'rm -rf "$claims"' EXIT

# run_one I DEVICE LOCK: run I (an index into RUN_NAME) with RUN_LOCK=LOCK on DEVICE.
run_one() {
  local name=${RUN_NAME[$1]} task=${RUN_TASK[$1]} seed=${RUN_SEED[$1]} log status=0
  local started=$SECONDS
  if [ -z "$parallel" ]; then
    echo "$name: running scripts/$task.sh"
    SEED=$seed SKIP_FINISHED=1 RUN_LOCK=$3 bash "scripts/$task.sh" "$name" || status=$?
  else
    log=$LOG_DIR/$name.log
    echo "$name: running scripts/$task.sh on $DEVICE $2, log $log"
    printf '\n==> %s: %s on %s %s (reproduce.sh, process %s)\n' "$(date '+%F %T')" "$name" \
      "$DEVICE" "$2" "$$" >> "$log"
    SEED=$seed PIN_DEVICE=$2 SKIP_FINISHED=1 RUN_LOCK=$3 bash "scripts/$task.sh" "$name" \
      >> "$log" 2>&1 < /dev/null || status=$?
  fi
  case $status in
    0) if [ -n "$parallel" ]; then echo "$name: done after $((SECONDS - started)) s"; fi ;;
    "$RUN_BUSY") echo "$name: another process is running it; waiting for it at the end" ;;
    130|143) echo "$name: stopped by a signal after $((SECONDS - started)) s" ;;
    *) echo "$name: FAILED with exit status $status after $((SECONDS - started)) s"
       if [ -n "$parallel" ]; then tail -n 5 "$log" | sed 's/^/    /'; fi ;;
  esac
  return "$status"
}

# A run stopped by Ctrl-C or SIGTERM (the tools save a snapshot and exit with 130 or 143)
# stops the sweep: no further run starts, no table; the next sweep resumes.
stopped_by_signal() { [ "$1" -eq 130 ] || [ "$1" -eq 143 ]; }

# worker DEVICE: takes the runs in order, each one once in this sweep (mkdir claims it
# atomically); the runs another process held are waited for after the others. Returns 130
# when stopped by a signal.
worker() {
  local i status busy=() stop=
  trap 'stop=1' INT TERM
  for i in "${!RUN_NAME[@]}"; do
    [ -z "$stop" ] || break
    mkdir "$claims/${RUN_NAME[$i]}" 2> /dev/null || continue
    status=0
    run_one "$i" "$1" fail || status=$?
    if [ "$status" -eq "$RUN_BUSY" ]; then busy+=("$i"); fi
    if stopped_by_signal "$status"; then stop=1; fi
  done
  for i in ${busy[@]+"${busy[@]}"}; do
    [ -z "$stop" ] || break
    status=0
    run_one "$i" "$1" wait || status=$?
    if stopped_by_signal "$status"; then stop=1; fi
  done
  if [ -n "$stop" ]; then return 130; fi
}

stopped=
if [ ${#RUN_NAME[@]} -eq 0 ]; then
  :
elif [ -z "$parallel" ]; then
  worker "" || stopped=1
else
  pids=()
  for ((w = 0; w < jobs; w++)); do
    worker "${devices[w % ${#devices[@]}]}" &
    pids+=($!)
  done
  # A signal for this script alone goes on to the workers, which finish the runs under way and
  # start no more (Ctrl-C reaches every process, so the runs also save and stop).
  trap 'kill -TERM "${pids[@]}" 2> /dev/null || true' INT TERM
  for pid in "${pids[@]}"; do
    while :; do
      status=0
      wait "$pid" || status=$?
      # a wait cut short by a signal returns above 128 while the worker still runs
      if [ "$status" -gt 128 ] && kill -0 "$pid" 2> /dev/null; then continue; fi
      if [ "$status" -eq 130 ]; then stopped=1; fi
      break
    done
  done
fi
if [ -n "$stopped" ]; then
  echo "Stopped: the runs under way saved their snapshots; run the same command again to resume"
  exit 130
fi

not_finished=()
for prefix in ${ALL_RUNS[@]+"${ALL_RUNS[@]}"}; do
  finished "$RESULTS_DIR/$prefix" "${RUN_YAML[$prefix]}" || not_finished+=("$prefix")
done

# One report at a time: two sweeps on the same folders end at about the same time.
report=("$PYTHON" tools/report.py "$RESULTS_DIR" --png "$RESULTS_DIR/results.png"
        --markdown "$RESULTS_DIR/results.md")
if command -v flock > /dev/null && [ -d "$RESULTS_DIR" ]; then
  flock "$RESULTS_DIR/.report.lock" "${report[@]}"
else
  "${report[@]}"
fi

if [ ${#not_finished[@]} -gt 0 ]; then
  echo "Not finished: ${not_finished[*]}"
  exit 1
fi
