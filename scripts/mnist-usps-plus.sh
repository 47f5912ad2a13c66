#!/usr/bin/env bash
# MNIST -> USPS (mnist2000 -> usps1800) with the recipe (v3), a snapshot chosen without labels.
# Usage: [SEED=0] bash scripts/mnist-usps-plus.sh [PREFIX]   (--help: what it runs and reads)
# Declared in adda/tasks.py, run by adda/run.py (python -m adda.run mnist-usps-plus).
cd "$(dirname "$0")/.." && exec "${PYTHON:-python}" -m adda.run "$(basename "$0" .sh)" "$@"
