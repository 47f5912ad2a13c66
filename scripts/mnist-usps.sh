#!/usr/bin/env bash
# MNIST -> USPS with 2000 MNIST and 1800 USPS training images (mnist2000 -> usps1800).
# Usage: [SEED=0] bash scripts/mnist-usps.sh [PREFIX]   (options: scripts/common.sh)
#
# Settings: the original's (Adam, batch 128, source lr 1e-3, adaptation lr 2e-4, ReLU
# discriminator, 10000 + 10000 iterations), except that the discriminator sees the encoder's
# output (fc3, 500 values) instead of the logits, so the classifier keeps the source weights,
# as in the paper. Chosen on seeds 100 and 101, never on the reported seeds 0-4: with the
# logits the final snapshot reached 0.859 / 0.883 on usps1800 train, with fc3 0.906 / 0.903.
source "$(dirname "$0")/common.sh"
TASK=mnist-usps
SOURCE=mnist2000
TARGET=usps1800
SOURCE_ARGS=(--iterations "$(source_iterations)" --batch_size 128 --display 10
             --lr 1e-3 --snapshot 5000 --solver adam)
ADAPT_ARGS=(--iterations "$(adapt_iterations)" --batch_size 128 --display 10
            --lr 2e-4 --snapshot 5000 --solver adam --adversary_relu --adversary_layer fc3)
run_task "$@"
