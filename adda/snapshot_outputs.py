"""A run's snapshots, and the network's outputs on some splits for each of them.

The graph is built once; each snapshot is restored into it in turn. Only the splits' images
enter the graph: labels stay in NumPy, with whoever holds the split.
"""
import collections
import logging
import os
import re

import numpy as np

from adda.errors import AddaError

Snapshot = collections.namedtuple('Snapshot', 'step path')
# Per split: logits [N, classes] and the feature layer's output [N, width] (or None).
SplitOutputs = collections.namedtuple('SplitOutputs', 'logits features')

_SNAPSHOT_INDEX = re.compile(r'^(?P<name>.+)-(?P<step>\d+)\.index$')


def starting_weights(run_dir):
    """The snapshot an adaptation run in ``run_dir`` started from (its --weights, from its
    config.yaml), as step 0."""
    from adda.rundir import CONFIG_FILE, read_run_config
    config = read_run_config(run_dir)
    weights = (config or {}).get('options', {}).get('weights') if isinstance(
        (config or {}).get('options'), dict) else None
    if not weights:
        raise AddaError('{}: its {} names no starting weights, so the source model cannot be a '
                        'candidate; pass --without_source'.format(run_dir, CONFIG_FILE))
    if not os.path.isfile(weights + '.index'):
        raise AddaError('{}: the run started from {}, which is missing ({}.index); pass '
                        '--without_source to leave the source model out'.format(
                            run_dir, weights, weights))
    return Snapshot(0, weights)


def list_snapshots(run_dir, with_start=False):
    """The snapshots ``<run_dir>/<name>-<step>`` (from their ``.index`` files), by step; with
    ``with_start``, first the weights the run started from (step 0: for an adaptation run,
    the source model).

    Subfolders (the resumable ``state/``) are not looked into. A folder with snapshots of
    several names is refused: which run is meant would be a guess.
    """
    if not os.path.isdir(run_dir):
        raise AddaError('{}: no such folder of snapshots'.format(run_dir))
    found, names = {}, set()
    for entry in os.listdir(run_dir):
        match = _SNAPSHOT_INDEX.match(entry)
        if match and os.path.isfile(os.path.join(run_dir, entry)):
            names.add(match.group('name'))
            step = int(match.group('step'))
            found[step] = Snapshot(step, os.path.join(run_dir, entry[:-len('.index')]))
    if not found:
        raise AddaError('{}: no snapshots in the folder (no <name>-<step>.index files)'.format(
            run_dir))
    if len(names) > 1:
        raise AddaError('{}: snapshots of several runs in one folder ({}); give the folder of '
                        'one run'.format(run_dir, ', '.join(sorted(names))))
    if with_start and 0 not in found:
        found[0] = starting_weights(run_dir)
    return [found[step] for step in sorted(found)]


def sample_indices(size, limit, seed=0):
    """The sorted indices of a fixed-seed draw of ``limit`` of ``size`` items without
    replacement; all of them when ``size`` is not larger (or ``limit`` is 0)."""
    if not limit or size <= limit:
        return np.arange(size)
    return np.sort(np.random.RandomState(seed).choice(size, limit, replace=False))


def sample_of(split, limit, seed=0):
    """At most ``limit`` of the split's images, a fixed-seed draw without replacement (in
    their order), as ImagesOnly; the whole split when it is not larger (or ``limit`` is 0)."""
    images_only = ImagesOnly(split)
    if not limit or len(images_only) <= limit:
        return images_only
    keep = sample_indices(len(images_only), limit, seed)
    images_only.images = images_only.images[keep]
    images_only.labels = images_only.labels[keep]
    return images_only


class ImagesOnly(object):
    """A split's images with zero labels: what a pipeline gets when labels must not reach it.

    Its length comes from the images, so the split's labels are never read.
    """

    def __init__(self, split):
        self.images = split.images
        self.labels = np.zeros(len(self.images), np.int64)
        self.num_classes = split.num_classes
        self.name = split.name

    def __len__(self):
        return len(self.images)


class OutputGraph(object):
    """The logits and ``feature_layer``'s flattened output of ``model_fn`` for every image of
    each split in ``splits`` (OrderedDict name -> split), batch by batch, in order."""

    def __init__(self, splits, model_fn, batch_size, scope=None, feature_layer=None):
        from adda.compat import tf
        from adda.data.pipeline import evaluation_batches
        from adda.models import preprocessing
        from adda.util import collect_vars

        scope = scope or model_fn.__name__
        self._pipelines = collections.OrderedDict()
        for name, split in splits.items():
            images_only = ImagesOnly(split)
            batches = evaluation_batches(images_only, batch_size,
                                         lambda x: preprocessing(x, model_fn))
            images = batches.get_next()[0]
            logits, layers = model_fn(images, scope=scope, is_training=False)
            fetches = {'logits': logits}
            if feature_layer:
                if feature_layer not in layers:
                    raise AddaError('unknown layer {!r} of {} (known: {})'.format(
                        feature_layer, model_fn.__name__, ', '.join(layers)))
                out = layers[feature_layer]
                fetches['features'] = tf.reshape(
                    out, [-1, int(np.prod(out.shape.as_list()[1:]))])
            self._pipelines[name] = (batches, fetches, len(images_only))
        self.model_vars = collect_vars(scope)

    def compute(self, sess, progress=None):
        """OrderedDict split name -> SplitOutputs for the weights now in the session.

        Only the first len(split) rows are kept, so a padded last batch changes nothing.
        ``progress``: a tqdm-like bar, updated by the images of each batch.
        """
        from adda.data.pipeline import each_batch
        results = collections.OrderedDict()
        for name, (batches, fetches, size) in self._pipelines.items():
            parts = []
            for part in each_batch(sess, batches, fetches):
                parts.append(part)
                if progress is not None:
                    done = sum(len(p['logits']) for p in parts)
                    progress.update(len(part['logits']) - max(0, done - size))
            logits = np.concatenate([p['logits'] for p in parts])[:size]
            features = (np.concatenate([p['features'] for p in parts])[:size]
                        if 'features' in fetches else None)
            if len(logits) != size:
                raise AddaError('split {}: the pipeline gave {} outputs for {} images'.format(
                    name, len(logits), size))
            results[name] = SplitOutputs(logits, features)
        return results


def outputs_per_snapshot(splits, model_fn, snapshots, batch_size, run_device, scope=None,
                         feature_layer=None):
    """Yield (Snapshot, OrderedDict split name -> SplitOutputs) for each of ``snapshots``.

    One graph and one session for all of them; each snapshot is restored in turn.
    """
    from adda.checkpoints import restore
    from adda.compat import tf
    from adda.session import create_session

    with tf.Graph().as_default():
        graph = OutputGraph(splits, model_fn, batch_size, scope, feature_layer)
        with create_session(run_device) as sess:
            for snapshot in snapshots:
                logging.info('Snapshot %s', snapshot.path)
                restore(sess, graph.model_vars, snapshot.path)
                yield snapshot, graph.compute(sess)
