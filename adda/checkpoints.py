"""Snapshots (model weights under scope-stripped keys) and resumable training state."""
import logging
import os

from adda.compat import tf
from adda.errors import AddaError

STATE_FOLDER = 'state'


def resolve_weights(path):
    """A checkpoint prefix, or a folder whose latest checkpoint is used."""
    if os.path.isdir(path):
        latest = tf.train.latest_checkpoint(path)
        if latest is None:
            raise AddaError('no checkpoint in folder {} (it has no readable "checkpoint" '
                            'index)'.format(path))
        return latest
    if os.path.isfile(path + '.index'):
        return path
    raise AddaError('weights {} not found: neither a checkpoint prefix ({}.index is missing) '
                    'nor a folder of checkpoints'.format(path, path))


def checkpoint_shapes(path):
    """name -> shape of every variable in the checkpoint at ``path``."""
    try:
        return tf.train.NewCheckpointReader(path).get_variable_to_shape_map()
    except (tf.errors.OpError, ValueError) as e:
        message = getattr(e, 'message', None) or str(e)
        raise AddaError('{}: not a readable checkpoint ({})'.format(
            path, message.strip().splitlines()[0]))


def restore(sess, var_dict, path):
    """Load ``var_dict`` (checkpoint key -> variable) from ``path``, checking keys and shapes."""
    shapes = checkpoint_shapes(path)
    for key, var in var_dict.items():
        if key not in shapes:
            raise AddaError('{}: checkpoint has no variable {} (it has: {})'.format(
                path, key, ', '.join(sorted(shapes)) or 'nothing'))
        if list(shapes[key]) != var.shape.as_list():
            raise AddaError('{}: {} has shape {} in the checkpoint but the model needs {}'.format(
                path, key, list(shapes[key]), var.shape.as_list()))
    tf.train.Saver(var_list=var_dict).restore(sess, path)


def log_restore(var_dict, indent='    '):
    for key, var in var_dict.items():
        logging.info('%s%-30s -> %-30s', indent, key, var.name)


class Snapshots(object):
    """``<dir>/<output>-<step>`` model snapshots and ``<dir>/state/`` resumable state.

    A snapshot holds only ``model_vars`` under their stripped keys, the original's format.
    The state checkpoint beside it holds every variable (optimizer slots, discriminator,
    global step) so that ``--resume`` continues exactly.
    """

    def __init__(self, output_dir, output, model_vars, max_to_keep=5):
        self.prefix = os.path.join(output_dir, output)
        self.state_dir = os.path.join(output_dir, STATE_FOLDER)
        self.model_saver = tf.train.Saver(var_list=model_vars, max_to_keep=max_to_keep,
                                          save_relative_paths=True)
        self.state_saver = tf.train.Saver(var_list=tf.global_variables(), max_to_keep=1,
                                          save_relative_paths=True)
        self.last = self.last_step = None

    def save(self, sess, step):
        self.state_saver.save(sess, os.path.join(self.state_dir, 'state'), global_step=step,
                              write_meta_graph=False)
        self.last = self.model_saver.save(sess, self.prefix, global_step=step,
                                          write_meta_graph=False)
        self.last_step = step
        logging.info('Saved snapshot to %s', self.last)
        return self.last

    def restore_state(self, sess, path):
        restore(sess, {v.op.name: v for v in tf.global_variables()}, path)


def latest_state(output_dir):
    """(checkpoint path, step) of the newest resumable state in ``output_dir``, or None."""
    state_dir = os.path.join(output_dir, STATE_FOLDER)
    path = tf.train.latest_checkpoint(state_dir) if os.path.isdir(state_dir) else None
    if path is None:
        return None
    try:
        step = int(tf.train.load_variable(path, 'global_step'))
    except (tf.errors.OpError, ValueError) as e:
        raise AddaError('{}: cannot read the step to resume from ({})'.format(path, e))
    return path, step


def latest_snapshot(output_dir):
    return tf.train.latest_checkpoint(output_dir) if os.path.isdir(output_dir) else None
