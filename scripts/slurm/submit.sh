#!/usr/bin/env bash
# Submit a sweep to Slurm: a job array with one element per task x seed
# (scripts/slurm/array.sbatch), then the report (scripts/slurm/report.sbatch), queued with
# --dependency=afterany:<array> so that it runs once every element has ended. Prints the job ids.
#
# Usage: bash scripts/slurm/submit.sh [--no-report] [SBATCH_OPTION...] [TASK...]
#   TASK           any task of python -m adda.tasks (default: mnist-usps usps-mnist svhn-mnist);
#                  a task whose data is not on disk here is left out, with a note
#   SBATCH_OPTION  any other argument, for the array's sbatch, written --name=value:
#                  --cpus-per-task=4, --gres=gpu:1, --partition=..., --time=...
# Environment: as scripts/reproduce.sh (SEEDS, RESULTS_DIR, SNAPSHOT_DIR, PYTHON, DEVICE,
# PRECISION, TRAIN_ARGS, SOURCE_ITERATIONS, ADAPT_ITERATIONS, ...) and LOG_DIR (default
# RESULTS_DIR/logs), checked first (a value not allowed: one Error line, exit status 2); sbatch
# passes them to the jobs. sbatch's own SBATCH_* variables
# (SBATCH_PARTITION, SBATCH_ACCOUNT, SBATCH_TIMELIMIT, ...) apply to both jobs.
# Relative folders are relative to the repository. Slurm's own output of the jobs goes to
# LOG_DIR/slurm-<array job>_<index>.out and LOG_DIR/report-<job>.out.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python}
SEEDS=${SEEDS:-0 1 2 3 4}
RESULTS_DIR=${RESULTS_DIR:-results}
LOG_DIR=${LOG_DIR:-$RESULTS_DIR/logs}

case "${1:-}" in -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 0 ;; esac
# the settings (adda/environment.py), checked before anything is submitted or created
"$PYTHON" -m adda.environment sweep > /dev/null || exit $?
# the task table (adda/tasks.py)
known=" $("$PYTHON" -m adda.tasks | tr '\n' ' ')" ||
  { echo "Error: $PYTHON cannot read adda/tasks.py (set PYTHON)" >&2; exit 1; }
report=1 options=() tasks=()
for arg in "$@"; do
  case "$arg" in
    --no-report) report= ;;
    -*) options+=("$arg") ;;
    *) case "$known" in *" $arg "*) tasks+=("$arg") ;;
         *) echo "Error: $arg is not a task (known:${known% }); write sbatch options as" \
                 "--name=value" >&2
            exit 1 ;;
       esac ;;
  esac
done
if [ ${#tasks[@]} -eq 0 ]; then
  read -r -a tasks <<< "$("$PYTHON" -m adda.tasks --default | tr '\n' ' ')"
fi
read -r -a seeds <<< "$SEEDS"
if [ ${#seeds[@]} -eq 0 ]; then echo "Error: SEEDS is empty" >&2; exit 1; fi
if ! command -v sbatch > /dev/null; then
  echo "Error: sbatch is not installed here (submit from a Slurm login node)" >&2
  exit 1
fi

runnable=()
for task in "${tasks[@]}"; do
  read -r -a datasets <<< "$("$PYTHON" -m adda.tasks --datasets "$task")"
  if ! missing=$("$PYTHON" -m adda.data check "${datasets[@]}"); then
    echo "Leaving out $task: its data is not on disk:"
    echo "$missing" | sed 's/^/    /'
    continue
  fi
  runnable+=("$task")
done
if [ ${#runnable[@]} -eq 0 ]; then echo "Error: no task has its data on disk" >&2; exit 1; fi

count=$((${#runnable[@]} * ${#seeds[@]}))
export ADDA_ROOT=$PWD TASKS="${runnable[*]}" SEEDS="${seeds[*]}" RESULTS_DIR LOG_DIR PYTHON
mkdir -p "$LOG_DIR"
array=$(sbatch --parsable --array="0-$((count - 1))" --output="$LOG_DIR/slurm-%A_%a.out" \
          ${options[@]+"${options[@]}"} scripts/slurm/array.sbatch)
array=${array%%;*}
echo "Submitted array job $array: $count runs (${runnable[*]} x seeds ${seeds[*]}), logs in $LOG_DIR/"
if [ -n "$report" ]; then
  job=$(sbatch --parsable --dependency="afterany:$array" --output="$LOG_DIR/report-%j.out" \
          scripts/slurm/report.sbatch)
  job=${job%%;*}
  echo "Submitted report job $job: runs after job $array has ended, writes $RESULTS_DIR/results.md"
fi
