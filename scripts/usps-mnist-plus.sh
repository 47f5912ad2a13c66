#!/usr/bin/env bash
# USPS -> MNIST (usps1800 -> mnist2000) with the recipe (v6), a snapshot chosen without labels.
# Usage: [SEED=0] bash scripts/usps-mnist-plus.sh [PREFIX]   (--help: what it runs and reads)
# Declared in adda/tasks.py, run by adda/run.py (python -m adda.run usps-mnist-plus).
cd "$(dirname "$0")/.." && exec "${PYTHON:-python}" -m adda.run "$(basename "$0" .sh)" "$@"
