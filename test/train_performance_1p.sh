#!/usr/bin/env bash
# ModelZoo regression harness, speed: a short source training and a short adaptation of a task
# on one card, timed from the training logs. See usage below (--help).
MODE=perf
source "$(dirname "${BASH_SOURCE[0]}")/harness_common.sh"

usage() {
  cat << EOF
Usage: bash test/train_performance_1p.sh --data_path=<folder> [--name=value ...]

Trains the task's source model and adapts it, each for a warm-up and then the timed steps,
with the settings of scripts/<task>.sh (nothing is evaluated), on the device --device picks,
and reports the training speed: images per second over the timed steps of both trainings,
from the timestamps of the training logs (start-up, graph building and the warm-up are not
counted).

Options:
  --data_path=<folder>    required: the datasets, <folder>/{mnist,usps,svhn}/ with their
                          original file names (the layout of npu_train.sh's data_path)
  --task=<task>           $KNOWN_TASKS
                          (default mnist-usps)
  --batch_size=<n>        batch size of both trainings (default: the task's, 128)
  --train_steps=<n>       timed iterations of each training (default 300)
  --warmup_steps=<n>      iterations of each training before the timing starts (default 50);
                          on the NPU, warm-up + steps must be a multiple of the device loop's
                          10 iterations
  --device=<d>            auto, cpu, gpu or npu (default: \$DEVICE, its old name \$ADDA_DEVICE
                          still accepted, else auto: the NPU when npu_bridge imports)
  --precision_mode=<m>    mixed, fp32 or an NPU precision_mode (default: \$PRECISION, its old
                          name \$ADDA_PRECISION still accepted, else mixed on the NPU, fp32
                          elsewhere)
  -h, --help              this help
ModelZoo's --over_dump=True [--over_dump_path=DIR], --data_dump_flag=True [--data_dump_step=S
--data_dump_path=DIR] and --profiling=True [--profiling_dump_path=DIR] turn on the adapter's
overflow dump, data dump and profiling in both trainings (on the NPU; folders default to the
output folder's overflow_dump/, data_dump/, profiling/); --autotune is ignored. The operator
compile cache is on, in the output folder's op_cache/ (ADDA_NPU_COMPILE_CACHE moves it).
Environment: ASCEND_DEVICE_ID (0), SEED (0), PYTHON (python3), TRAIN_ARGS (more options for
both training tools), ADDA_HARNESS_OUTPUT (default: test/output).

Output, in test/output/<ASCEND_DEVICE_ID>/ (this script's earlier results there are removed):
  train_<ASCEND_DEVICE_ID>.log          the whole run
  <CaseName>.log                        Network, RankSize, BatchSize, DeviceType, CaseName,
                                        ActualFPS, TrainingTime (ms per step), ActualLoss,
                                        E2ETrainingTime (s); CaseName is
                                        ${NETWORK}_bs<BatchSize>_1p_perf
  train_<CaseName>_loss.txt             every logged loss: source training's, then the
                                        adaptation's mapping loss
  perf/snapshot/                        the two short runs' snapshots and train.log files
EOF
}

parse_options "$@"
train_steps=${train_steps:-300}
warmup_steps=${warmup_steps:-50}
iterations=$((warmup_steps + train_steps))
started=$SECONDS
prepare_output

# The task's datasets and tools' arguments for this many iterations, and its run name
# (adda/tasks.py, as scripts/<task>.sh would run them).
settings=$(tasks_py --args "$task" "$iterations" "$iterations") ||
  fail "cannot read the settings of $task (adda/tasks.py)"
{ read -r source_set target_set; read -r source_text; read -r adapt_text; } <<< "$settings"
read -r -a source_args <<< "$source_text"
read -r -a adapt_args <<< "$adapt_text"
run_name=$(tasks_py --name "$task" "$SEED" "$iterations" "$iterations") ||
  fail "cannot name the run (adda/tasks.py)"

extra_args=(--seed "$SEED" --snapshot_dir "$work/snapshot" --device "$device")
if [ -n "$precision" ]; then extra_args+=(--precision "$precision"); fi
if [ -n "$batch_size" ]; then extra_args+=(--batch_size "$batch_size"); fi
read -r -a user_args <<< "${TRAIN_ARGS:-}"
npu_switches
extra_args+=(${user_args[@]+"${user_args[@]}"} ${npu_args[@]+"${npu_args[@]}"})

say "$NETWORK: $task ($source_set -> $target_set) as $run_name, $warmup_steps warm-up +" \
    "$train_steps timed iterations of each training, seed $SEED, device $device${precision:+" \
    "($precision)}, ASCEND_DEVICE_ID $ASCEND_DEVICE_ID"
say "data_path $data_path; output $out; log $log"
say "Source training on $source_set train"
run "source training (tools/train.py)" \
  "$PYTHON" tools/train.py "$source_set" train lenet "${run_name}_source" "${source_args[@]}" \
  "${extra_args[@]}"
say "Adaptation $source_set -> $target_set"
run "adaptation (tools/train_adda.py)" \
  "$PYTHON" tools/train_adda.py "$source_set:train" "$target_set:train" lenet "${run_name}_adda" \
  --weights "$work/snapshot/${run_name}_source" "${adapt_args[@]}" "${extra_args[@]}"
device_line=$(grep -m1 'Running on' "$log" | sed 's/^\[[^]]*\] *[A-Z]* *//') || true
[ -z "$device_line" ] || say "$device_line"

say "Training speed (from the training logs, after $warmup_steps iterations of each):"
metrics "$warmup_steps" "$work/snapshot/${run_name}_source" "$work/snapshot/${run_name}_adda"
report ""
