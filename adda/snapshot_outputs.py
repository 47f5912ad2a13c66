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


def list_snapshots(run_dir):
    """The snapshots ``<run_dir>/<name>-<step>`` (from their ``.index`` files), by step.

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
    return [found[step] for step in sorted(found)]


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

    def compute(self, sess):
        """OrderedDict split name -> SplitOutputs for the weights now in the session.

        Only the first len(split) rows are kept, so a padded last batch changes nothing.
        """
        from adda.data.pipeline import each_batch
        results = collections.OrderedDict()
        for name, (batches, fetches, size) in self._pipelines.items():
            parts = list(each_batch(sess, batches, fetches))
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
