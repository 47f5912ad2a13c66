#!/usr/bin/env bash
# MNIST -> USPS with 2000 MNIST and 1800 USPS training images (mnist2000 -> usps1800).
# Usage: [SEED=0] bash scripts/mnist-usps.sh [PREFIX]   (--help: what it runs and reads)
# Declared in adda/tasks.py, run by adda/run.py (python -m adda.run mnist-usps).
cd "$(dirname "$0")/.." && exec "${PYTHON:-python}" -m adda.run "$(basename "$0" .sh)" "$@"
