#!/usr/bin/env bash
# Run the transfer tasks over several seeds, then print the results table.
# Usage: bash scripts/reproduce.sh [TASK...]; --help says what it runs and what it reads.
# The sweep is adda/sweep.py (python -m adda.sweep); docs/sweeps.md has the details.
cd "$(dirname "$0")/.." && exec "${PYTHON:-python}" -m adda.sweep "$@"
