"""Snapshots (model weights under scope-stripped keys) and resumable training state.

Every checkpoint is written crash-safe: TensorFlow writes it into a private temporary folder,
its files are flushed and renamed into place (data first, ``.index`` last), and only then is
the folder's ``checkpoint`` index rewritten, itself through a temporary file and a rename. A
crash or a full disk at any moment therefore leaves the index naming complete checkpoints
only, and the previous ones untouched.
"""
import collections
import glob
import logging
import os
import re
import shutil
import time

from adda.compat import tf
from adda.errors import AddaError, write_error
from adda.util import fsync_folder, write_text

STATE_FOLDER = 'state'
STATE_NAME = 'state'
INDEX_FILE = 'checkpoint'
STATES_KEPT = 2
SAVING_PREFIX = '.saving-'
# Test-only hook: seconds to sleep after TensorFlow has written a checkpoint and before it is
# renamed into place, so that tests can kill a run in that window deterministically.
PAUSE_ENV = 'ADDA_TEST_PAUSE_BEFORE_RENAME'


def _first_line(error):
    message = getattr(error, 'message', None) or str(error) or type(error).__name__
    return message.strip().splitlines()[0]


def read_index(folder):
    """Checkpoint paths the ``checkpoint`` index of ``folder`` names, oldest first ([] if none).

    Raises AddaError when the index exists but cannot be read.
    """
    path = os.path.join(folder, INDEX_FILE)
    if not os.path.isfile(path):
        return []
    try:
        state = tf.train.get_checkpoint_state(folder)
    except Exception as e:  # text_format.ParseError and friends: a damaged index
        raise AddaError('{}: damaged checkpoint index ({})'.format(path, _first_line(e)))
    if state is None:
        return []
    paths = list(state.all_model_checkpoint_paths)
    if state.model_checkpoint_path and state.model_checkpoint_path not in paths:
        paths.append(state.model_checkpoint_path)
    return paths  # get_checkpoint_state has joined relative names with the folder


def write_index(folder, paths):
    """Rewrite ``folder``'s ``checkpoint`` index to name ``paths`` (newest last), atomically."""
    names = [os.path.basename(p) for p in paths]
    if names:
        proto = tf.train.generate_checkpoint_state_proto(
            os.path.abspath(folder), names[-1], all_model_checkpoint_paths=names)
        text = str(proto)
    else:
        text = ''
    write_text(os.path.join(folder, INDEX_FILE), text, 'the checkpoint index')


def checkpoint_files(prefix):
    return [prefix + '.index'] + sorted(glob.glob(glob.escape(prefix) + '.data-*'))


def damage(prefix):
    """None when the checkpoint at ``prefix`` reads back whole (every tensor, checksums
    verified), else (file, reason): the damaged or missing file and what is wrong with it."""
    index = prefix + '.index'
    if not os.path.isfile(index):
        return index, 'missing'
    try:
        reader = tf.train.NewCheckpointReader(prefix)
    except Exception as e:
        data = checkpoint_files(prefix)[1:]
        if not data:
            return prefix + '.data-00000-of-00001', 'missing'
        return index, _first_line(e)
    for name in reader.get_variable_to_shape_map():
        try:
            reader.get_tensor(name)
        except Exception as e:  # truncation surfaces as OutOfRange, IndexError, DataLoss...
            data = checkpoint_files(prefix)[1:]
            return (data[0] if len(data) == 1 else prefix + '.data-*'), _first_line(e)
    return None


def _step_of(prefix):
    match = re.search(r'-(\d+)$', prefix)
    return int(match.group(1)) if match else None


def checkpoints_on_disk(folder, name):
    """Prefixes of ``folder/name-<step>`` checkpoints (index present), by step, oldest first."""
    found = []
    for index in glob.glob(os.path.join(glob.escape(folder), glob.escape(name) + '-*.index')):
        prefix = index[:-len('.index')]
        step = _step_of(prefix)
        if step is not None and os.path.basename(prefix) == '{}-{}'.format(name, step):
            found.append((step, prefix))
    return [prefix for _, prefix in sorted(found)]


def resolve_weights(path):
    """A checkpoint prefix, or a folder whose latest checkpoint is used."""
    if os.path.isdir(path):
        paths = read_index(path)
        if not paths:
            raise AddaError('no checkpoint in folder {} (it has no readable "checkpoint" '
                            'index)'.format(path))
        latest = paths[-1]
        if not os.path.isfile(latest + '.index'):
            raise AddaError('{}: the checkpoint index names {}, which is missing'.format(
                os.path.join(path, INDEX_FILE), latest))
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
        raise AddaError('{}: not a readable checkpoint ({})'.format(path, _first_line(e)))


def check_fits(path, shapes_needed):
    """Fail unless the checkpoint at ``path`` has every key of ``shapes_needed`` (key ->
    shape list) with that shape, and their values read back whole."""
    shapes = checkpoint_shapes(path)
    for key, shape in shapes_needed.items():
        if key not in shapes:
            raise AddaError('{}: checkpoint has no variable {} (it has: {})'.format(
                path, key, ', '.join(sorted(shapes)) or 'nothing'))
        if list(shapes[key]) != list(shape):
            raise AddaError('{}: {} has shape {} in the checkpoint but the model needs {}'.format(
                path, key, list(shapes[key]), list(shape)))
    broken = damage(path)
    if broken:
        raise AddaError('{}: damaged checkpoint file ({})'.format(*broken))


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
    try:
        tf.train.Saver(var_list=var_dict).restore(sess, path)
    except tf.errors.OpError as e:
        raise AddaError('{}: damaged checkpoint ({})'.format(path, _first_line(e)))


def log_restore(var_dict, indent='    '):
    for key, var in var_dict.items():
        logging.info('%s%-30s -> %-30s', indent, key, var.name)


def remove_stale_temporaries(folder):
    """Delete what a killed save left in ``folder``: its private temporary folders."""
    for path in glob.glob(os.path.join(glob.escape(folder), SAVING_PREFIX + '*')):
        shutil.rmtree(path, ignore_errors=True)


def _remove(prefix):
    for path in checkpoint_files(prefix):
        if os.path.exists(path):
            os.remove(path)


class CheckpointFolder(object):
    """Checkpoints ``folder/name-<step>`` saved crash-safe by ``saver``, at most ``keep``
    (None: all) named in the folder's index; older ones are deleted after the index stops
    naming them."""

    def __init__(self, folder, name, saver, keep=None):
        self.folder, self.name, self.saver, self.keep = folder, name, saver, keep

    def save(self, sess, step):
        """Save the checkpoint of ``step``; returns its prefix."""
        prefix = os.path.join(self.folder, '{}-{}'.format(self.name, step))
        tmp_dir = os.path.join(self.folder, '{}{}-{}'.format(SAVING_PREFIX, os.getpid(), step))
        try:
            os.makedirs(tmp_dir, exist_ok=True)
            tmp_prefix = os.path.join(tmp_dir, os.path.basename(prefix))
            try:
                self.saver.save(sess, tmp_prefix, write_meta_graph=False, write_state=False)
            except tf.errors.OpError as e:
                raise write_error(prefix, e, 'checkpoint')
            written = checkpoint_files(tmp_prefix)
            for path in written:
                with open(path, 'rb+') as f:
                    os.fsync(f.fileno())
            pause = float(os.environ.get(PAUSE_ENV) or 0)
            if pause:
                logging.info('Test hook %s: pausing %g s before renaming %s into place',
                             PAUSE_ENV, pause, prefix)
                time.sleep(pause)
            indexed = [p for p in read_index(self.folder) if os.path.isfile(p + '.index')]
            if prefix in indexed:  # saved again (a resumed run): unlist it before replacing it
                indexed.remove(prefix)
                write_index(self.folder, indexed)
            _remove(prefix)
            for path in written[1:] + written[:1]:  # data first, the index last
                os.replace(path, prefix + path[len(tmp_prefix):])
            fsync_folder(self.folder)
            indexed.append(prefix)
            dropped = indexed[:-self.keep] if self.keep else []
            write_index(self.folder, indexed[len(dropped):])
        except OSError as e:
            raise write_error(getattr(e, 'filename', None) or prefix, e, 'checkpoint')
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)
        for old in dropped:
            _remove(old)
        return prefix


class Snapshots(object):
    """``<dir>/<output>-<step>`` model snapshots and ``<dir>/state/`` resumable state.

    A snapshot holds only ``model_vars`` under their stripped keys, the original's format.
    The state checkpoint beside it holds every variable (optimizer slots, discriminator,
    global step) so that ``--resume`` continues exactly; the newest two are kept, so that a
    damaged newest state leaves an older one to resume from.
    """

    def __init__(self, output_dir, output, model_vars, max_to_keep=5):
        self.output_dir = output_dir
        self.model_vars = model_vars
        self.state_dir = os.path.join(output_dir, STATE_FOLDER)
        self.models = CheckpointFolder(
            output_dir, output, tf.train.Saver(var_list=model_vars, max_to_keep=None),
            keep=max_to_keep)
        self.states = CheckpointFolder(
            self.state_dir, STATE_NAME,
            tf.train.Saver(var_list=tf.global_variables(), max_to_keep=None), keep=STATES_KEPT)
        self.last = self.last_step = None

    def save(self, sess, step):
        """The snapshot, then the state: a crash in between resumes from the older state and
        writes this snapshot again."""
        try:
            prefix = self.models.save(sess, step)
            self.states.save(sess, step)
        except AddaError as e:
            raise AddaError('{}; the previous snapshot ({}) and training state are intact: '
                            'continue with --resume once the disk has room'.format(
                                e, self.last or 'none was saved'))
        self.last, self.last_step = prefix, step
        logging.info('Saved snapshot to %s', self.last)
        return self.last

    def restore_state(self, sess, resume, restore_initial=None, graph=None):
        """Continue from ``resume``: a state checkpoint path, or a ResumePoint.

        A ResumePoint of kind 'snapshot' starts from ``restore_initial()`` (the run's starting
        weights, fresh optimizer state), then loads the snapshot's model weights into the
        graph's ``live_vars`` (TrainGraph), calls its ``after_restore`` and sets the global
        step.
        """
        if isinstance(resume, ResumePoint) and resume.kind == SNAPSHOT:
            if restore_initial is not None:
                restore_initial()
            restore(sess, graph.live_vars if graph is not None else self.model_vars,
                    resume.path)
            if graph is not None:
                graph.after_restore(sess)
            tf.train.get_global_step().load(resume.step, sess)
            return
        path = resume.path if isinstance(resume, ResumePoint) else resume
        restore(sess, {v.op.name: v for v in tf.global_variables()}, path)


STATE, SNAPSHOT = 'state', 'snapshot'
ResumePoint = collections.namedtuple('ResumePoint', 'path step kind')


def state_step(prefix):
    """The global step stored in the state checkpoint at ``prefix``."""
    return int(tf.train.load_variable(prefix, 'global_step'))


def find_state(output_dir):
    """((prefix, step) of the newest intact state or None, [(file, reason)] of the damaged
    states newer than it)."""
    state_dir = os.path.join(output_dir, STATE_FOLDER)
    candidates = checkpoints_on_disk(state_dir, STATE_NAME)
    try:
        candidates += [p for p in read_index(state_dir) if p not in candidates]
    except AddaError:
        pass  # a damaged index: the states on disk are checked one by one below
    candidates.sort(key=lambda p: _step_of(p) or 0, reverse=True)
    damaged = []
    for prefix in candidates:
        broken = damage(prefix)
        if broken is None:
            try:
                return (prefix, state_step(prefix)), damaged
            except Exception as e:
                broken = prefix + '.index', 'no readable global_step ({})'.format(_first_line(e))
        damaged.append(broken)
    return None, damaged


def latest_state(output_dir):
    """(checkpoint path, step) of the newest intact resumable state in ``output_dir``, or None."""
    return find_state(output_dir)[0]


def newest_intact_snapshot(output_dir, output):
    """(prefix, step) of the newest model snapshot that reads back whole, or None."""
    for prefix in reversed(checkpoints_on_disk(output_dir, output)):
        if damage(prefix) is None:
            return prefix, _step_of(prefix)
    return None


def latest_snapshot(output_dir):
    return tf.train.latest_checkpoint(output_dir) if os.path.isdir(output_dir) else None
