#!/usr/bin/env bash
# ModelZoo self-test: a short run of the network that checks it works, that the loss falls and
# that the speed lines are there; ends with "Run testcase success!" (exit 0) or
# "Run testcase failed!" (exit 1). A few minutes on the CPU, well under ten on a card.
#
# Usage: bash test/train_testcase.sh --data_path=<folder> [--name=value ...]
#   The options of test/train_performance_1p.sh (--device, --task, --batch_size,
#   --precision_mode, ModelZoo's --over_dump, --data_dump_*, --profiling); this test runs its
#   --warmup_steps=20 --train_steps=180 unless given. Output: test/output/<ASCEND_DEVICE_ID>/.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
case "${1:-}" in -h|--help) sed -n '2,/^set -uo/p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 0 ;; esac

failed() { echo "Testcase check failed: $*"; echo "Run testcase failed!"; exit 1; }

args=("$@")
case " ${args[*]-} " in *" --train_steps="*) ;; *) args+=(--train_steps=180) ;; esac
case " ${args[*]-} " in *" --warmup_steps="*) ;; *) args+=(--warmup_steps=20) ;; esac

# 1. It runs: the performance harness ends well (a short source training and adaptation).
output=$(bash "$here/train_performance_1p.sh" "${args[@]}" 2>&1)
status=$?
printf '%s\n' "$output"
[ "$status" -eq 0 ] || failed "train_performance_1p.sh exited with status $status"

# 2. The speed lines are there, with a speed above 0.
fps=$(sed -n 's/^Final Performance images\/sec : //p' <<< "$output")
[[ $fps =~ ^[0-9]+(\.[0-9]+)?$ ]] && [ "${fps/./}" -gt 0 ] ||
  failed "no 'Final Performance images/sec' line with a speed"
grep -q '^E2E Training Duration sec : [0-9]' <<< "$output" ||
  failed "no 'E2E Training Duration sec' line"

# 3. The loss falls: the source training's last five logged losses below its first five.
out=${ADDA_HARNESS_OUTPUT:-$here/output}/${ASCEND_DEVICE_ID:-0}
log=$(ls "$out"/perf/snapshot/*_source/train.log 2> /dev/null | head -n 1)
[ -n "$log" ] || failed "no source training log in $out/perf/snapshot/"
if ! verdict=$(awk '/ Iteration [0-9]+: / {
                      for (i = 1; i <= NF; i++) if ($i ~ /^Iteration$/) { loss[n++] = $(i + 2) }
                    }
                    END {
                      if (n < 10) { print "only " n " loss lines"; exit 1 }
                      for (i = 0; i < 5; i++) { first += loss[i]; last += loss[n - 1 - i] }
                      printf "first five %.4f, last five %.4f on average\n", first / 5, last / 5
                      exit !(last < first)
                    }' "$log"); then
  failed "the source training's loss did not fall ($verdict; $log)"
fi
echo "Testcase checks: the run ends well, speed $fps images/s, the loss falls ($verdict)"
echo "Run testcase success!"
