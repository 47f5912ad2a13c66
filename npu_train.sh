#!/usr/bin/env bash
# Single-card run of the three digit tasks (MNIST->USPS, USPS->MNIST, SVHN->MNIST), ModelZoo
# style: on the Ascend NPU with mixed precision by default. Installs nothing.
#
# Usage: bash npu_train.sh [code_dir] [work_dir] [data_path] [output_path]
#   code_dir     this repository                      (default: the folder of this script)
#   work_dir     snapshots and results while running  (default: code_dir)
#   data_path    dataset root: data_path/{mnist,usps,svhn}/ (default: $ADDA_DATA_DIR, else
#                work_dir/data)
#   output_path  logs, snapshots and results end here (default: work_dir/output)
#
# Environment (all optional; the settings of adda/environment.py, checked before anything is
# created: a value not allowed is one Error line, exit status 2):
#   DEVICE=npu            npu, cpu, gpu or auto (DEVICE=cpu runs the same on a CPU); old name
#                         ADDA_DEVICE, still accepted
#   PRECISION             default: mixed on the NPU (allow_mix_precision), the tools' default
#                         elsewhere; the NPU also takes its precision_mode names; old name
#                         ADDA_PRECISION, still accepted
#   TASKS="mnist-usps usps-mnist svhn-mnist"   which tasks, in order (any of
#                         python -m adda.tasks); old name ADDA_TASKS, still accepted
#   SOURCE_ITERATIONS / ADAPT_ITERATIONS  shorter runs (default: the task scripts' 10000)
#   SEED=0  PYTHON=python3  TRAIN_ARGS (extra training options, e.g. "--steps_per_run 10")
#   JOBS=N  DEVICES="0 1 ..."  run up to N tasks at once (by default JOBS = the number of
#                         DEVICES), each on its own device: an NPU through ASCEND_DEVICE_ID and
#                         DEVICE_ID, a GPU through CUDA_VISIBLE_DEVICES, on the CPU a set of
#                         cores ("0-3 4-7", taskset syntax). Without DEVICES: ids 0..N-1, on
#                         the CPU the cores split into N sets. Each task's output then goes only
#                         to logs/<task>.log.
# SVHN->MNIST is skipped, with a message, when data_path/svhn/ lacks the .mat files. A task
# that fails does not stop the others; the exit status is 1 when any failed. Training resumes
# from what work_dir/snapshot/ holds (a finished task is not trained again): remove the task's
# folders there to start it over.
set -uo pipefail

case "${1:-}" in  # the comment block above is the usage
  -h|--help) sed -n '2,/^set -uo pipefail/p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 0 ;;
esac

say() { printf '[CANN-Modelzoo] %s\n' "$*"; }
die() { say "ERROR: $*" >&2; exit 1; }
absolute() { mkdir -p "$1" && (cd "$1" && pwd); }
same_dir() { [ "$(cd "$1" && pwd -P)" = "$(cd "$2" && pwd -P)" ]; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
code_dir=$(cd "${1:-$here}" 2>/dev/null && pwd) || die "code_dir ${1:-} is not a folder"
[ -f "$code_dir/adda/tasks.py" ] || die "code_dir $code_dir has no adda/tasks.py"
# py: a Python 3 here that reads adda/tasks.py and adda/environment.py (the standard library
# only, so any Python 3 does, also before PYTHON is known to work).
py=
for candidate in "${PYTHON:-python3}" python3 python; do
  if (cd "$code_dir" && "$candidate" -m adda.tasks > /dev/null 2>&1); then
    py=$candidate
    break
  fi
done
[ -n "$py" ] || die "no Python 3 here can read $code_dir/adda/tasks.py"
tasks_py() { (cd "$code_dir" && "$py" -m adda.tasks "$@"); }
# The settings (adda/environment.py), checked before anything is created; old names are
# read, then unset, so that the task scripts see each setting under its name only.
settings=$(cd "$code_dir" && "$py" -m adda.environment npu_train --shell) || exit 2
eval "$settings"
default_tasks=$(tasks_py --default | tr '\n' ' ')
work_dir=$(absolute "${2:-$code_dir}") || die "cannot create work_dir ${2:-}"
data_path=${3:-${ADDA_DATA_DIR:-$work_dir/data}}
[ -d "$data_path" ] || die "data_path $data_path is not a folder"
data_path=$(cd "$data_path" && pwd)
output_path=$(absolute "${4:-$work_dir/output}") || die "cannot create output_path ${4:-}"

device=$DEVICE
precision=$PRECISION
if [ -z "$precision" ] && [ "$device" = npu ]; then precision=mixed; fi
tasks=${TASKS:-${default_tasks% }}
seed=$SEED
python=$PYTHON

mkdir -p "$output_path/logs" || die "cannot write to $output_path"
log=$output_path/npu_train.log
: > "$log" || die "cannot write $log"

# run_name TASK: the task's name for the run (adda/tasks.py: with other iteration counts than
# the task's it ends in -it<source>+<adaptation>).
run_name() { tasks_py --name "$1" "$seed" "${SOURCE_ITERATIONS:-}" "${ADAPT_ITERATIONS:-}"; }

# svhn_missing TASK: the task reads SVHN (too large to download here) and its files are absent.
svhn_missing() {
  case " $(tasks_py --datasets "$1") " in *" svhn "*) ;; *) return 1 ;; esac
  [ ! -f "$data_path/svhn/train_32x32.mat" ] || [ ! -f "$data_path/svhn/test_32x32.mat" ]
}

# replace_copy FOLDER INTO: INTO/<name of FOLDER> becomes a copy of FOLDER. The copy is made
# beside it under a temporary name of this process first, so a copy that fails (a full disk)
# leaves the earlier copy as it was; only then is the earlier one set aside and removed.
replace_copy() {
  local name partial old
  name=$(basename "$1")
  partial=$2/.$name.partial.$$ old=$2/.$name.old.$$
  if ! cp -R "$1" "$partial"; then rm -rf -- "$partial"; return 1; fi
  if [ -e "$2/$name" ]; then mv -- "$2/$name" "$old" || { rm -rf -- "$partial"; return 1; }; fi
  mv -- "$partial" "$2/$name" || { mv -- "$old" "$2/$name"; rm -rf -- "$partial"; return 1; }
  rm -rf -- "$old"
}

# run_parallel: the tasks, up to JOBS at once, each pinned to one of DEVICES, with its output
# in logs/<task>.log, through the sweeps' scheduler (adda/sweep.py); each task's "status
# seconds" goes to $claims/<task>/status.
run_parallel() {
  local task runnable=()
  claims=$(mktemp -d) || return 1
  for task in $tasks; do
    [ -f "$code_dir/scripts/$task.sh" ] && ! svhn_missing "$task" && runnable+=("$task")
  done
  (cd "$code_dir" && "$python" -m adda.sweep --modelzoo "$output_path/logs" "$claims" \
     ${runnable[@]+"${runnable[@]}"})
}

run_all() {
  say "code_dir:    $code_dir"
  say "work_dir:    $work_dir"
  say "data_path:   $data_path"
  say "output_path: $output_path"
  say "device: $device, precision: ${precision:-default}, tasks: $tasks, seed: $seed"
  say "iterations: source ${SOURCE_ITERATIONS:-default}, adaptation ${ADAPT_ITERATIONS:-default}"
  versions=$("$python" -c 'import platform, tensorflow as tf; print("Python %s, TensorFlow %s" % (platform.python_version(), tf.__version__))' 2>/dev/null) \
    || { say "ERROR: $python cannot import tensorflow (set PYTHON to the interpreter that has it)"; return 1; }
  say "$python: $versions"

  export ADDA_DATA_DIR=$data_path PYTHON=$python DEVICE=$device PRECISION=$precision SEED=$seed
  # never a download on the Ascend routes (ModelZoo's rule; air-gapped clusters): a missing file
  # is one error line naming it. The compiled operators are kept for the next task and run.
  export ADDA_OFFLINE=1 ADDA_NPU_COMPILE_CACHE=${ADDA_NPU_COMPILE_CACHE:-$work_dir/op_cache}
  export SNAPSHOT_DIR=$work_dir/snapshot RESULTS_DIR=$work_dir/results
  unset PREFIX

  failed=() done_tasks=() skipped=()
  start=$SECONDS
  parallel=
  if [ -n "${JOBS:-}${DEVICES:-}" ]; then
    parallel=1
    run_parallel || return 1
  fi
  for task in $tasks; do
    script=$code_dir/scripts/$task.sh
    if [ ! -f "$script" ]; then
      say "ERROR: unknown task $task (no $script)"
      failed+=("$task")
      continue
    fi
    if svhn_missing "$task"; then
      say "Skipping $task: SVHN is not in $data_path/svhn/ (needs train_32x32.mat and test_32x32.mat)"
      skipped+=("$task")
      continue
    fi
    prefix=$(run_name "$task")
    if [ -n "$parallel" ]; then
      status=1 elapsed=0
      if [ -f "$claims/$task/status" ]; then read -r status elapsed < "$claims/$task/status"; fi
    else
      say "Start $task ($prefix), log $output_path/logs/$task.log"
      task_start=$SECONDS
      bash "$script" "$prefix" 2>&1 | tee "$output_path/logs/$task.log"
      status=${PIPESTATUS[0]}
      elapsed=$((SECONDS - task_start))
    fi
    if [ "$status" -eq 0 ]; then
      say "Finished $task in $elapsed s"
      done_tasks+=("$task")
    else
      say "ERROR: $task failed (exit status $status) after $elapsed s"
      failed+=("$task")
    fi
    # Copy what the task wrote, finished or not.
    if ! same_dir "$work_dir" "$output_path"; then
      mkdir -p "$output_path/snapshot" "$output_path/results"
      for folder in "${prefix}_source" "${prefix}_adda"; do
        if [ -d "$SNAPSHOT_DIR/$folder" ]; then
          replace_copy "$SNAPSHOT_DIR/$folder" "$output_path/snapshot" ||
            { say "ERROR: cannot copy $SNAPSHOT_DIR/$folder (the earlier copy, if any, is" \
                  "kept)"; failed+=("copy:$folder"); }
        fi
      done
      if [ -d "$RESULTS_DIR/$prefix" ]; then
        replace_copy "$RESULTS_DIR/$prefix" "$output_path/results" ||
          { say "ERROR: cannot copy $RESULTS_DIR/$prefix (the earlier copy, if any, is kept)"
            failed+=("copy:$prefix"); }
      fi
    fi
  done
  if [ -n "$parallel" ]; then rm -rf "$claims"; fi

  # One line per finished task: target accuracy, train (the paper's protocol) / test.
  summary=$output_path/summary.txt
  accuracy_of() { awk '/^accuracy:/ {printf "%.4f", $2}' "$1" 2>/dev/null; }
  {
    printf '%-12s %-12s %-12s %-12s %-12s\n' task source_train source_test adda_train adda_test
    for task in ${done_tasks[@]+"${done_tasks[@]}"}; do
      results=$RESULTS_DIR/$(run_name "$task")
      printf '%-12s %-12s %-12s %-12s %-12s\n' "$task" \
        "$(accuracy_of "$results/source_only_train.yaml")" "$(accuracy_of "$results/source_only_test.yaml")" \
        "$(accuracy_of "$results/adda_train.yaml")" "$(accuracy_of "$results/adda_test.yaml")"
    done
  } > "$summary"
  say "Accuracy on the target (written to $summary):"
  sed 's/^/[CANN-Modelzoo]   /' "$summary"
  say "Total time $((SECONDS - start)) s; done: ${done_tasks[*]:-none}; skipped: ${skipped[*]:-none}; failed: ${failed[*]:-none}"
  if [ "${#failed[@]}" -gt 0 ]; then
    say "ERROR: npu_train.sh failed"
    return 1
  fi
  say "npu_train.sh finished"
}

# Everything also goes to output_path/npu_train.log.
run_all 2>&1 | tee -a "$log"
exit "${PIPESTATUS[0]}"
