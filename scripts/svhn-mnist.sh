#!/usr/bin/env bash
# SVHN -> MNIST on the full training sets, with the original implementation's settings.
# Usage: [SEED=0] bash scripts/svhn-mnist.sh [PREFIX]   (options: scripts/common.sh)
source "$(dirname "$0")/common.sh"
TASK=svhn-mnist
SOURCE=svhn
TARGET=mnist
SOURCE_ARGS=(--iterations "$(source_iterations)" --batch_size 128 --display 10
             --lr 1e-3 --snapshot 5000 --solver adam)
ADAPT_ARGS=(--iterations "$(adapt_iterations)" --batch_size 128 --display 10
            --lr 2e-4 --snapshot 5000 --solver adam --adversary_relu)
run_task "$@"
