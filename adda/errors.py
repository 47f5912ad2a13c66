"""Errors that reach the user as one line (the CLIs print them without a traceback)."""


class AddaError(Exception):
    """A user-facing error: bad arguments, missing or corrupt files, diverged training."""


class DatasetError(AddaError):
    """A dataset file is missing, corrupt or cannot be downloaded."""
