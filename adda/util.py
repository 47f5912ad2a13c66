"""Variable collection by scope-stripped names, and logging that does not break progress bars."""
import logging
import logging.config
import os
from collections import OrderedDict

import yaml
from tqdm import tqdm

from adda.errors import AddaError


class TqdmHandler(logging.StreamHandler):
    """Writes records through tqdm so they print above an active progress bar."""

    def emit(self, record):
        try:
            tqdm.write(self.format(record))
        except Exception:
            self.handleError(record)


def config_logging(logfile=None):
    """Console logging from adda/logging.yaml (safe_load), plus ``logfile`` when given."""
    path = os.path.join(os.path.dirname(__file__), 'logging.yaml')
    with open(path) as f:
        logging.config.dictConfig(yaml.safe_load(f))
    if logfile is not None:
        add_logfile(logfile)


def add_logfile(logfile):
    """Also log to ``logfile`` (appending), in the console's format."""
    root = logging.getLogger()
    handler = logging.FileHandler(logfile, encoding='utf8')
    if root.handlers:
        handler.setFormatter(root.handlers[0].formatter)
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


def write_yaml(path, data):
    """Write ``data`` as YAML to ``path`` atomically (a temporary file renamed into place)."""
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    tmp = '{}.tmp{}'.format(path, os.getpid())
    try:
        with open(tmp, 'w') as f:
            yaml.safe_dump(data, f, default_flow_style=None, sort_keys=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
