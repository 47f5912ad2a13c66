#!/usr/bin/env bash
# USPS -> MNIST with 1800 USPS and 2000 MNIST training images (usps1800 -> mnist2000).
# Usage: [SEED=0] bash scripts/usps-mnist.sh [PREFIX]   (options: scripts/common.sh)
source "$(dirname "$0")/common.sh"
TASK=usps-mnist
SOURCE=usps1800
TARGET=mnist2000
SOURCE_ARGS=(--iterations "${SOURCE_ITERATIONS:-10000}" --batch_size 128 --display 10
             --lr 1e-3 --snapshot 5000 --solver adam)
ADAPT_ARGS=(--iterations "${ADAPT_ITERATIONS:-10000}" --batch_size 128 --display 10
            --lr 2e-4 --snapshot 5000 --solver adam --adversary_relu)
run_task "$@"
