#!/usr/bin/env bash
# USPS -> MNIST on the full training sets (usps -> mnist), accuracy on the MNIST test split.
# Usage: [SEED=0] bash scripts/usps-mnist-full.sh [PREFIX]   (--help: what it runs and reads)
# Declared in adda/tasks.py, run by adda/run.py (python -m adda.run usps-mnist-full).
cd "$(dirname "$0")/.." && exec "${PYTHON:-python}" -m adda.run "$(basename "$0" .sh)" "$@"
