"""Small adaptation runs in process, shared by the tests of the adaptation terms."""
import numpy as np

from adda.adaptation import build_adda_training
from adda.compat import tf
from adda.data import get_split
from adda.models import get_model_fn
from adda.tools.train_adda import Settings

lenet = get_model_fn('lenet')


def adaptation_settings(**values):
    """train_adda.py's settings of the tests' small adaptation runs, with ``values``."""
    return Settings(**dict(dict(batch_size=8, lr=1e-2, solver='adam', adversary=(8,)), **values))


def run_adaptation(settings, steps=3, fetch_globals=None):
    """(graph, target weights before, per-step outputs, snapshot weights after); with
    ``fetch_globals`` (a dict), also every other global variable's final value, by name."""
    source, target = get_split('mnist', 'train'), get_split('usps', 'train')
    with tf.Graph().as_default():
        tf.set_random_seed(3)
        graph = build_adda_training(source, target, lenet, settings, seed=0)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            graph.after_restore(sess)
            graph.start(sess)
            target = {k: v for k, v in zip(graph.snapshot_vars, sess.run(
                list(graph.snapshot_vars.values())))}
            records = graph.loop.run(sess, steps)
            out = {k: np.array([values[k] for _, _, values in records]) for k in graph.outputs}
            if fetch_globals is not None:
                fetch_globals.update((v.op.name, sess.run(v)) for v in tf.global_variables())
            return graph, target, out, sess.run(graph.snapshot_vars)
