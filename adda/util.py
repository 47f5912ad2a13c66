"""Variable collection by scope-stripped names, logging that does not break progress bars, and
files written whole or not at all."""
import contextlib
import glob
import logging
import logging.config
import os
import sys
from collections import OrderedDict

import yaml
from tqdm import tqdm

from adda.errors import AddaError, write_error


class TqdmHandler(logging.StreamHandler):
    """Writes records through tqdm so they print above an active progress bar; on the standard
    output unless ``to_stderr`` (a tool whose output is data on the standard output)."""

    to_stderr = False

    def emit(self, record):
        try:
            tqdm.write(self.format(record), file=sys.stderr if self.to_stderr else None)
        except Exception:
            self.handleError(record)


def log_to_stderr():
    """Console logging on the standard error from now on (the standard output carries data)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, TqdmHandler):
            handler.to_stderr = True


class _Early(logging.Handler):
    """Keeps the records logged before a run's log file exists (the tool's first lines), so
    that the file can start with them."""

    def __init__(self, limit=100):
        logging.Handler.__init__(self, logging.INFO)
        self.records = []
        self.limit = limit

    def emit(self, record):
        if len(self.records) < self.limit:
            self.records.append(record)


def config_logging(logfile=None):
    """Console logging from adda/logging.yaml (safe_load), plus ``logfile`` when given."""
    path = os.path.join(os.path.dirname(__file__), 'logging.yaml')
    with open(path) as f:
        logging.config.dictConfig(yaml.safe_load(f))
    logging.getLogger().addHandler(_Early())
    if logfile is not None:
        add_logfile(logfile)


class _LogFile(logging.FileHandler):
    """A log file that, when it can no longer be written (a full disk), says so once on stderr
    and leaves the console logging alone, instead of a traceback per record."""

    def handleError(self, record):
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            return logging.FileHandler.handleError(self, record)
        logging.getLogger().removeHandler(self)
        sys.stderr.write('Warning: {}; logging to the console only\n'.format(
            write_error(self.baseFilename, error, 'the log file')))


def add_logfile(logfile):
    """Also log to ``logfile`` (appending), in the console's format."""
    root = logging.getLogger()
    try:
        handler = _LogFile(logfile, encoding='utf8')
    except OSError as e:
        raise write_error(logfile, e, 'the log file')
    if root.handlers:
        handler.setFormatter(root.handlers[0].formatter)
    for early in [h for h in root.handlers if isinstance(h, _Early)]:
        root.removeHandler(early)
        for record in early.records:  # what was logged before the file existed
            handler.handle(record)
    root.addHandler(handler)
    return handler


def remove_first_scope(name):
    return '/'.join(name.split('/')[1:])


def collect_vars(scope, start=None, end=None, prepend_scope=None):
    """OrderedDict of the global variables under ``scope``, keyed by names without that scope.

    ``start`` / ``end`` (names or indices) cut the list like a slice, the way the original's
    ``--weights_end fc4`` restores only the layers before fc4. ``prepend_scope`` adds a
    scope in front of the keys.
    """
    from adda.compat import tf
    found = OrderedDict((remove_first_scope(v.op.name), v) for v in tf.global_variables()
                        if v.op.name.startswith(scope + '/'))
    found = slice_vars(found, start, end, scope)
    if prepend_scope is None:
        return found
    return OrderedDict((prepend_scope + '/' + name, v) for name, v in found.items())


def slice_vars(var_dict, start=None, end=None, scope=''):
    """The part of ``var_dict`` from ``start`` up to (not including) ``end``.

    Bounds are indices or key prefixes: the first key that starts with the prefix.
    """
    names = list(var_dict)

    def position(bound):
        if not isinstance(bound, str):
            return bound
        for i, name in enumerate(names):
            if name.startswith(bound):
                return i
        raise AddaError('no variable under {}/ starts with {!r} (variables: {})'.format(
            scope, bound, ', '.join(names)))

    return OrderedDict((name, var_dict[name]) for name in names[position(start):position(end)])


def fsync_folder(folder):
    """Make renames in ``folder`` durable (best effort: not every file system allows it)."""
    try:
        fd = os.open(folder or '.', os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temporary_name(path):
    """A hidden name beside ``path``, unique to this process, with the same extension."""
    folder, name = os.path.split(path)
    return os.path.join(folder, '.{}.{}.tmp{}'.format(name, os.getpid(),
                                                        os.path.splitext(name)[1]))


@contextlib.contextmanager
def atomic_output(path, what=None):
    """Yield a temporary path beside ``path``; once the body has written it, it is flushed to
    disk and renamed to ``path``. On any error nothing is left at the temporary path, ``path``
    keeps its old content, and write errors (a full disk) become one-line AddaErrors."""
    folder = os.path.dirname(path)
    tmp = temporary_name(path)
    try:
        if folder:
            os.makedirs(folder, exist_ok=True)
        yield tmp
        with open(tmp, 'rb+') as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_folder(folder)
    except OSError as e:
        raise write_error(path, e, what)
    finally:
        # the temporary file, and what a writer that itself writes via temporary files (such
        # as tf.io.write_graph) left beside it
        for leftover in [tmp] + glob.glob(glob.escape(tmp) + '.*'):
            if os.path.exists(leftover):
                os.remove(leftover)


def write_text(path, text, what=None):
    """Write ``text`` to ``path`` whole or not at all (see atomic_output)."""
    with atomic_output(path, what) as tmp:
        with open(tmp, 'w', encoding='utf8') as f:
            f.write(text)
