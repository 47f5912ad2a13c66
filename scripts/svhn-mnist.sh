#!/usr/bin/env bash
# SVHN -> MNIST on the full training sets, with the original implementation's settings.
# Usage: [SEED=0] bash scripts/svhn-mnist.sh [PREFIX]   (--help: what it runs and reads)
# Declared in adda/tasks.py, run by adda/run.py (python -m adda.run svhn-mnist).
cd "$(dirname "$0")/.." && exec "${PYTHON:-python}" -m adda.run "$(basename "$0" .sh)" "$@"
