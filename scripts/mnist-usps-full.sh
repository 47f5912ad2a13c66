#!/usr/bin/env bash
# MNIST -> USPS on the full training sets (mnist -> usps), accuracy on the USPS test split.
# Usage: [SEED=0] bash scripts/mnist-usps-full.sh [PREFIX]   (--help: what it runs and reads)
# Declared in adda/tasks.py, run by adda/run.py (python -m adda.run mnist-usps-full).
cd "$(dirname "$0")/.." && exec "${PYTHON:-python}" -m adda.run "$(basename "$0" .sh)" "$@"
