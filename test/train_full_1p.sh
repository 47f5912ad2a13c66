#!/usr/bin/env bash
# ModelZoo regression harness, accuracy: the whole faithful task on one card and its target
# accuracy. See usage below (bash test/train_full_1p.sh --help).
MODE=acc
source "$(dirname "${BASH_SOURCE[0]}")/harness_common.sh"

usage() {
  cat << EOF
Usage: bash test/train_full_1p.sh --data_path=<folder> [--name=value ...]

Runs the whole task, scripts/<task>.sh (source training, source-only evaluation, adaptation,
evaluation; 10000 + 10000 iterations at batch 128), on one device, and reports its target
accuracy (the adapted model on the target's training split, the paper's protocol, or for the
*-full tasks on its test split, the field's; for the recipe tasks *-plus, the snapshot chosen
without target labels) and its training speed.

Options:
  --data_path=<folder>    required: the datasets, <folder>/{mnist,usps,svhn}/ with their
                          original file names (the layout of npu_train.sh's data_path)
  --task=<task>           $KNOWN_TASKS
                          (default mnist-usps)
  --batch_size=<n>        batch size of both trainings (default: the task's, 128)
  --train_steps=<n>       iterations of source training and of adaptation each (default:
                          \$SOURCE_ITERATIONS / \$ADAPT_ITERATIONS, else the task's 10000)
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
                                        ActualFPS, TrainingTime (ms per step), TrainAccuracy,
                                        ActualLoss, E2ETrainingTime (s); CaseName is
                                        ${NETWORK}_bs<BatchSize>_1p_acc
  train_<CaseName>_loss.txt             every logged loss: source training's, then the
                                        adaptation's mapping loss
  acc/snapshot/, acc/results/           the run's snapshots and evaluation records
ActualFPS counts training steps only, from the timestamps of the training logs after the
first 100 iterations of each training (a fifth of the shorter one in short runs): not
start-up, snapshots' evaluation or the warm-up.
EOF
}

parse_options "$@"
if [ -n "$train_steps" ]; then
  SOURCE_ITERATIONS=$train_steps ADAPT_ITERATIONS=$train_steps
fi
SOURCE_ITERATIONS=${SOURCE_ITERATIONS:-10000} ADAPT_ITERATIONS=${ADAPT_ITERATIONS:-10000}
for name in SOURCE_ITERATIONS ADAPT_ITERATIONS; do
  positive "${!name}" || fail "$name=${!name} is not a whole number of at least 1"
done
if [ -n "$batch_size" ]; then TRAIN_ARGS="${TRAIN_ARGS:-} --batch_size $batch_size"; fi
started=$SECONDS
prepare_output

export SOURCE_ITERATIONS ADAPT_ITERATIONS SEED PYTHON
npu_switches
# the task script splits TRAIN_ARGS as the shell does (quotes keep a folder with spaces whole)
export TRAIN_ARGS="${TRAIN_ARGS:-}${npu_args[*]+ $(printf '%q ' "${npu_args[@]}")}"
export DEVICE=$device PRECISION=$precision
export SNAPSHOT_DIR=$work/snapshot RESULTS_DIR=$work/results
unset PREFIX
run_name=$(tasks_py --name "$task" "$SEED" "$SOURCE_ITERATIONS" "$ADAPT_ITERATIONS") ||
  fail "cannot name the run (adda/tasks.py)"

say "$NETWORK: scripts/$task.sh as $run_name, $SOURCE_ITERATIONS + $ADAPT_ITERATIONS iterations," \
    "seed $SEED, device $device${precision:+ ($precision)}, ASCEND_DEVICE_ID $ASCEND_DEVICE_ID"
say "data_path $data_path; output $out; log $log"
run "scripts/$task.sh" bash "$CODE_DIR/scripts/$task.sh" "$run_name"
device_line=$(grep -m1 'Running on' "$log" | sed 's/^\[[^]]*\] *[A-Z]* *//') || true
[ -z "$device_line" ] || say "$device_line"
# the target's splits, the one the task's protocol reports first (train: the paper's)
splits=$(tasks_py --splits "$task") || fail "cannot read $task's splits"
read -r reported other <<< "$splits"
summary=$(grep -E '^(Source only|ADDA|Chosen): ' "$log") || true
if [ -n "$summary" ]; then
  say "Accuracy on $task's target, $reported / $other split:"; say "$summary"
fi

# a task that chooses a snapshot without labels (run.yaml: select: true) reports the choice
if grep -qx 'select: true' "$RESULTS_DIR/$run_name/run.yaml" 2> /dev/null; then
  record=$RESULTS_DIR/$run_name/selected_$reported.yaml
else
  record=$RESULTS_DIR/$run_name/adda_$reported.yaml
fi
accuracy=$(awk '/^accuracy:/ {print $2}' "$record" 2> /dev/null) || true
[ -n "$accuracy" ] || fail "no accuracy in $record"

# the speed after a warm-up of 100 iterations (less in short runs)
shortest=$((SOURCE_ITERATIONS < ADAPT_ITERATIONS ? SOURCE_ITERATIONS : ADAPT_ITERATIONS))
warmup=$((shortest / 5 < 100 ? shortest / 5 : 100))
say "Training speed (from the training logs, after $warmup iterations of each):"
metrics "$warmup" "$SNAPSHOT_DIR/${run_name}_source" "$SNAPSHOT_DIR/${run_name}_adda"
report "$accuracy"
