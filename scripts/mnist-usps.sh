#!/usr/bin/env bash
# MNIST -> USPS with 2000 MNIST and 1800 USPS training images (mnist2000 -> usps1800).
# Usage: [SEED=0] bash scripts/mnist-usps.sh [PREFIX]   (options: scripts/common.sh)
source "$(dirname "$0")/common.sh"
TASK=mnist-usps
SOURCE=mnist2000
TARGET=usps1800
SOURCE_ARGS=(--iterations "${SOURCE_ITERATIONS:-10000}" --batch_size 128 --display 10
             --lr 1e-3 --snapshot 5000 --solver adam)
ADAPT_ARGS=(--iterations "${ADAPT_ITERATIONS:-10000}" --batch_size 128 --display 10
            --lr 2e-4 --snapshot 5000 --solver adam --adversary_relu)
run_task "$@"
