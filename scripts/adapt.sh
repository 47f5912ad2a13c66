#!/usr/bin/env bash
# ADDA from any dataset to any other: source training, evaluations on the target, adaptation.
# Usage: [SEED=0] [RECIPE=1] bash scripts/adapt.sh SOURCE TARGET [PREFIX]   (--help: the rest)
# A task built from two names (adda/tasks.py pair_task), run by adda/run.py.
cd "$(dirname "$0")/.." && exec "${PYTHON:-python}" -m adda.run --pair "$@"
