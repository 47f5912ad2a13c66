"""The one place TensorFlow is imported: TF 1.15 and TF 2.x both run as graph-mode TF 1.

Import ``tf`` from here, never ``tensorflow`` directly, so the environment below is set before
TensorFlow loads.
"""
import logging
import os
import sys

# Quiet TensorFlow's C++ start-up chatter unless the user asked for it.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
# oneDNN kernels are much faster for LeNet on x86 CPUs; TF 2.x leaves them off on some CPUs.
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '1')
logging.getLogger('tensorflow').setLevel(logging.ERROR)


def _import_tensorflow():
    """Import TF; with TF_CPP_MIN_LOG_LEVEL >= 1, hide the lines its C++ side prints on import
    (absl writes them before TF_CPP_MIN_LOG_LEVEL takes effect)."""
    if os.environ['TF_CPP_MIN_LOG_LEVEL'] in ('', '0'):
        import tensorflow.compat.v1 as tf
        return tf
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow.compat.v1 as tf
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tf


tf = _import_tensorflow()
tf.logging.set_verbosity(tf.logging.ERROR)
tf.disable_v2_behavior()
# Resource variables read their current value inside tf.while_loop (needed by --steps_per_run).
tf.enable_resource_variables()

TF_VERSION = tf.__version__
TF2 = TF_VERSION.startswith('2.')

__all__ = ['tf', 'TF_VERSION', 'TF2']
