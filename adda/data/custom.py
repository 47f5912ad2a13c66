"""Kept for the modules that still import ``run_classes`` from here (adda/rundir.py and
adda/training.py); the datasets of one's own live in adda.data.own, adda.data.folders and
adda.data.arrays."""
from adda.data.own import own_classes, run_classes  # noqa: F401
