#!/usr/bin/env bash
# USPS -> MNIST on the full training sets with the general recipe, a snapshot chosen without labels.
# Usage: [SEED=0] bash scripts/usps-mnist-full-plus.sh [PREFIX]   (--help: what it runs and reads)
# Declared in adda/tasks.py, run by adda/run.py (python -m adda.run usps-mnist-full-plus).
cd "$(dirname "$0")/.." && exec "${PYTHON:-python}" -m adda.run "$(basename "$0" .sh)" "$@"
