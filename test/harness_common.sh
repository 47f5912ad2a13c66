# Shared by test/train_full_1p.sh and test/train_performance_1p.sh (sourced, not run): their
# options, checks, output folder and result lines, in the ModelZoo regression convention.
# The sourcing script sets MODE (acc or perf) and defines usage, then calls
# parse_options "$@", prepare_output, its own training, and report.
set -euo pipefail

NETWORK=ADDA_ID1026_for_TensorFlow  # the seed's ModelZoo name
RANK_SIZE=1
HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CODE_DIR=$(dirname "$HARNESS_DIR")
# tasks_py ARG...: python -m adda.tasks, the task table (the standard library only, so any
# Python 3 here reads it, whatever PYTHON is).
tasks_py() {
  local p
  for p in "${PYTHON:-python3}" python3 python; do
    (cd "$CODE_DIR" && "$p" -m adda.tasks "$@" 2> /dev/null) && return 0
  done
  return 1
}
KNOWN_TASKS=$(tasks_py | tr '\n' ' ') ||
  { echo "[Error] no Python 3 here can read adda/tasks.py" >&2; exit 1; }
KNOWN_TASKS=${KNOWN_TASKS% }

fail() { echo "[Error] $*" >&2; exit 1; }

whole_number() { [[ $1 =~ ^[0-9]{1,9}$ ]]; }
positive() { whole_number "$1" && [[ ! $1 =~ ^0+$ ]]; }

# absolute PATH: PATH made absolute against the folder the script was started from.
absolute() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }

# flag --NAME=VALUE: 1 for True, empty for False (ModelZoo's values); anything else fails.
flag() {
  case ${1#*=} in
    True|true) echo 1 ;;
    False|false) ;;
    *) fail "${1%%=*}=${1#*=}: use True or False" ;;
  esac
}

# npu_switches: npu_args, the training tools' options for ModelZoo's --over_dump,
# --data_dump_flag and --profiling (adda/npu_switches.py; each folder under the output folder
# unless given); and the operator compile cache in <output>/op_cache unless
# ADDA_NPU_COMPILE_CACHE says otherwise (both act on the NPU only).
npu_switches() {
  npu_args=()
  if [ -n "$over_dump" ]; then
    npu_args+=(--npu_overflow_dump "${over_dump_path:-$out/overflow_dump}")
  fi
  if [ -n "$data_dump" ]; then
    npu_args+=(--npu_dump "${data_dump_path:-$out/data_dump}"
               --npu_dump_step "${data_dump_step:-0}")
  fi
  if [ -n "$profiling" ]; then npu_args+=(--npu_profile "${profiling_dump_path:-$out/profiling}"); fi
  if [ ${#npu_args[@]} -gt 0 ]; then
    say "ModelZoo debugging switches, for both trainings: ${npu_args[*]}"
  fi
  export ADDA_NPU_COMPILE_CACHE=${ADDA_NPU_COMPILE_CACHE:-$out/op_cache}
}

# setting NAME OLD_NAME: NAME takes OLD_NAME's value when only that is set (OLD_NAME is then
# unset, so that the task scripts see the setting under its name only); both set to different
# values fail.
setting() {
  local name=$1 old=$2
  if [ -n "${!old:-}" ]; then
    if [ -n "${!name:-}" ] && [ "${!name}" != "${!old}" ]; then
      fail "$name=${!name} and $old=${!old} differ: $old is the old name of $name; set one of them"
    fi
    printf -v "$name" '%s' "${!old}"
  fi
  unset "$old"
}

# parse_options ARG...: the --name=value options of both scripts (perf also --warmup_steps).
parse_options() {
  data_path= batch_size= train_steps= warmup_steps= task=mnist-usps
  over_dump= over_dump_path= data_dump= data_dump_step= data_dump_path= profiling=
  profiling_dump_path=
  # DEVICE and PRECISION (adda/environment.py; their old names ADDA_DEVICE and ADDA_PRECISION
  # still accepted), the defaults of --device and --precision_mode
  setting DEVICE ADDA_DEVICE
  setting PRECISION ADDA_PRECISION
  device=${DEVICE:-auto} precision=${PRECISION:-}
  local arg name
  for arg in "$@"; do
    case $arg in -h|--help) usage; exit 0 ;; esac
  done
  for arg in "$@"; do
    name=${arg%%=*}
    case $arg in
      --data_path=*) data_path=${arg#*=} ;;
      --batch_size=*) batch_size=${arg#*=} ;;
      --train_steps=*) train_steps=${arg#*=} ;;
      --task=*) task=${arg#*=} ;;
      --device=*) device=${arg#*=} ;;
      --precision_mode=*) precision=${arg#*=} ;;
      --warmup_steps=*)
        [ "$MODE" = perf ] || fail "--warmup_steps is an option of train_performance_1p.sh only"
        warmup_steps=${arg#*=} ;;
      --over_dump=*) over_dump=$(flag "$arg") ;;
      --over_dump_path=*) over_dump_path=${arg#*=} ;;
      --data_dump_flag=*) data_dump=$(flag "$arg") ;;
      --data_dump_step=*) data_dump_step=${arg#*=} ;;
      --data_dump_path=*) data_dump_path=${arg#*=} ;;
      --profiling=*) profiling=$(flag "$arg") ;;
      --profiling_dump_path=*) profiling_dump_path=${arg#*=} ;;
      --autotune=*)
        echo "Note: $name is not supported by this network (its operators are tuned" \
             "already); ignored" >&2 ;;
      --*=*) fail "unknown option $name (see bash $0 --help)" ;;
      --data_path|--batch_size|--train_steps|--task|--device|--precision_mode|--warmup_steps)
        fail "$arg needs a value: $arg=VALUE (see bash $0 --help)" ;;
      *) fail "unknown argument $arg: options take the form --name=value (see bash $0 --help)" ;;
    esac
  done
  if [ -z "$data_path" ]; then
    echo '[Error] para "data_path" must be config' >&2
    exit 1
  fi
  [ -d "$data_path" ] || fail "data_path $data_path is not a folder"
  data_path=$(cd "$data_path" && pwd)
  [ -z "$batch_size" ] || positive "$batch_size" ||
    fail "--batch_size=$batch_size is not a whole number of at least 1"
  [ -z "$train_steps" ] || positive "$train_steps" ||
    fail "--train_steps=$train_steps is not a whole number of at least 1"
  [ -z "$warmup_steps" ] || whole_number "$warmup_steps" ||
    fail "--warmup_steps=$warmup_steps is not a whole number"
  case " $KNOWN_TASKS " in
    *" $task "*) ;;
    *) fail "unknown task '$task' (choose from: $KNOWN_TASKS)" ;;
  esac
  case $device in auto|cpu|gpu|npu) ;;
    *) fail "unknown device '$device' (choose from auto, cpu, gpu, npu)" ;; esac
  [[ -z $precision || $precision =~ ^[a-z0-9_]+$ ]] || fail "unknown precision mode '$precision'"
  SEED=${SEED:-0}
  whole_number "$SEED" || fail "SEED=$SEED is not a whole number"
  ASCEND_DEVICE_ID=${ASCEND_DEVICE_ID:-0}
  whole_number "$ASCEND_DEVICE_ID" ||
    fail "ASCEND_DEVICE_ID=$ASCEND_DEVICE_ID is not a device number"
  export ASCEND_DEVICE_ID
  PYTHON=${PYTHON:-python3}
  case $PYTHON in */*) PYTHON=$(absolute "$PYTHON") ;; esac
  output_root=$(absolute "${ADDA_HARNESS_OUTPUT:-$HARNESS_DIR/output}")
}

# What this harness writes in a work folder: the marker first, so that a folder without it is
# never taken for one of ours.
WORK_MARKER=.adda_harness
WORK_FILES=" $WORK_MARKER snapshot results losses.txt metrics.err "

# own_work_folder FOLDER: FOLDER holds only what this harness writes (its marker, or, from before
# the marker, its own names).
own_work_folder() {
  local entry
  [ -f "$1/$WORK_MARKER" ] && return 0
  for entry in "$1"/* "$1"/.[!.]*; do
    [ -e "$entry" ] || continue
    case "$WORK_FILES" in *" $(basename "$entry") "*) ;; *) return 1 ;; esac
  done
}

# prepare_output: test/output/<ASCEND_DEVICE_ID>/ with this script's earlier results removed
# (the other script's are kept); the work folder (snapshots, records) is <MODE>/ inside it. A
# work folder that holds anything this harness did not write is not removed: one error line.
prepare_output() {
  out=$output_root/$ASCEND_DEVICE_ID
  work=$out/$MODE
  log=$out/train_$ASCEND_DEVICE_ID.log
  mkdir -p "$out" 2> /dev/null || fail "cannot create the output folder $out"
  if [ -e "$work" ] && { [ ! -d "$work" ] || [ -L "$work" ] || ! own_work_folder "$work"; }; then
    fail "$work holds files this harness did not write; move them away or set" \
         "ADDA_HARNESS_OUTPUT to another folder"
  fi
  rm -rf -- "$work"
  rm -f -- "$log" "$out/${NETWORK}_bs"*"_${RANK_SIZE}p_$MODE.log" \
    "$out/train_${NETWORK}_bs"*"_${RANK_SIZE}p_${MODE}_loss.txt"
  mkdir -p "$work" && : > "$work/$WORK_MARKER" || fail "cannot create the work folder $work"
  : > "$log" || fail "cannot write $log"
  cd "$CODE_DIR"
  export ADDA_DATA_DIR=$data_path ADDA_OFFLINE=1  # ModelZoo: no download in a network's scripts
}

# say TEXT: to the console and the run's log.
say() { printf '%s\n' "$*" | tee -a "$log"; }

# run WHAT COMMAND...: run COMMAND with its output in the log; on failure, the log's last
# lines and one [Error] line naming WHAT, then exit 1.
run() {
  local what=$1 status=0
  shift
  "$@" >> "$log" 2>&1 < /dev/null || status=$?
  if [ "$status" -ne 0 ]; then
    tail -n 15 "$log" >&2
    fail "$what failed with status $status; the whole output is in $log"
  fi
}

# metrics WARMUP RUN_DIR...: speed and losses from the runs' own logs (test/harness_metrics.py);
# sets batch, fps, step_ms, loss and writes the loss file.
metrics() {
  local warmup=$1 text key value problem
  shift
  loss_file=$work/losses.txt
  if ! text=$("$PYTHON" "$HARNESS_DIR/harness_metrics.py" --warmup "$warmup" \
              --loss_file "$loss_file" "$@" 2> "$work/metrics.err"); then
    cat "$work/metrics.err" >> "$log"
    problem=$(tail -n 1 "$work/metrics.err")
    fail "cannot time the training from its logs: ${problem#Error: }"
  fi
  batch= fps= step_ms= loss=
  while IFS='=' read -r key value; do
    case $key in
      batch_size) batch=$value ;;
      fps) fps=$value ;;
      step_ms) step_ms=$value ;;
      loss) loss=$value ;;
      phase) say "  $value" ;;
    esac
  done <<< "$text"
  [ -n "$batch" ] && [ -n "$fps" ] && [ -n "$step_ms" ] ||
    fail "cannot time the training from its logs: test/harness_metrics.py printed no speed"
}

# report ACCURACY: the console lines, ${CaseName}.log and the loss file.
report() {
  local accuracy=$1 e2e=$((SECONDS - started)) case_name result
  case_name=${NETWORK}_bs${batch}_${RANK_SIZE}p_$MODE
  result=$out/$case_name.log
  mv "$loss_file" "$out/train_${case_name}_loss.txt"
  say "------------------ Final result ------------------"
  say "Final Performance images/sec : $fps"
  if [ "$MODE" = acc ]; then say "Final Train Accuracy : $accuracy"; fi
  say "E2E Training Duration sec : $e2e"
  {
    echo "Network = $NETWORK"
    echo "RankSize = $RANK_SIZE"
    echo "BatchSize = $batch"
    echo "DeviceType = $(uname -m)"
    echo "CaseName = $case_name"
    echo "ActualFPS = $fps"
    echo "TrainingTime = $step_ms"
    if [ "$MODE" = acc ]; then echo "TrainAccuracy = $accuracy"; fi
    echo "ActualLoss = $loss"
    echo "E2ETrainingTime = $e2e"
  } > "$result"
  say "Results: $result"
}
