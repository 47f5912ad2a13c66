#!/usr/bin/env bash
# MNIST -> USPS (mnist2000 -> usps1800) with the stabilised recipe: scripts/mnist-usps.sh's
# source model (shared: the same folder, trained once) and adaptation settings, plus the
# recipe's options below, snapshots every 500 iterations, and a snapshot chosen without target
# labels (tools/select_snapshot.py). Usage and options as scripts/common.sh; runs are named
# mnist-usps-plus-seed<SEED>.
#
# RECIPE: filled in once chosen (see the README's Results section for how).
source "$(dirname "$0")/common.sh"
TASK=mnist-usps-plus
SHARE_SOURCE=mnist-usps
SELECT=1
SOURCE=mnist2000
TARGET=usps1800
SOURCE_ARGS=(--iterations "${SOURCE_ITERATIONS:-10000}" --batch_size 128 --display 10
             --lr 1e-3 --snapshot 5000 --solver adam)
ADAPT_ARGS=(--iterations "${ADAPT_ITERATIONS:-10000}" --batch_size 128 --display 10
            --lr 2e-4 --snapshot 500 --keep 0 --solver adam --adversary_relu --adversary_layer fc3
            --target_infomax 0.1)
run_task "$@"
