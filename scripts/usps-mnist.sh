#!/usr/bin/env bash
# USPS -> MNIST with 1800 USPS and 2000 MNIST training images (usps1800 -> mnist2000).
# Usage: [SEED=0] bash scripts/usps-mnist.sh [PREFIX]   (--help: what it runs and reads)
# Declared in adda/tasks.py, run by adda/run.py (python -m adda.run usps-mnist).
cd "$(dirname "$0")/.." && exec "${PYTHON:-python}" -m adda.run "$(basename "$0" .sh)" "$@"
