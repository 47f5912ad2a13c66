"""Predictions of a snapshot for every image of a split or of image files anywhere on disk.

``inputs_of`` turns the tool's INPUT arguments into the images and what names each row (the
file, or the image's index in its split); ``class_probabilities`` runs the network over them
in batches; ``write_csv`` writes one row per image. The predicted class is the highest of the
classes' logits, as ``eval_classification`` counts it, so both tools agree on labelled images.
"""
import collections
import csv
import os

import numpy as np

from adda.errors import AddaError

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.gif', '.tif', '.tiff', '.webp', '.pgm',
                  '.ppm', '.pbm')

# images: an ImageSplit (its labels never read); keys: what names each row; key: the column's
# name ('file' or 'index'); classes: the input's class names when it has them (a dataset).
Inputs = collections.namedtuple('Inputs', 'images keys key classes description')


def is_dataset_split(text):
    """Whether ``text`` reads as DATASET:SPLIT (a name, a colon, a name) rather than a path."""
    parts = text.split(':')
    return len(parts) == 2 and all(parts) and not any(sep in text for sep in ('/', os.sep))


def inputs_of(arguments):
    """Inputs for the tool's INPUT arguments: one DATASET:SPLIT, or image files and folders
    (folders searched recursively for files with an image suffix, hidden ones left out)."""
    if not arguments:
        raise AddaError('no INPUT: give a dataset as DATASET:SPLIT (e.g. mnist:test), or '
                        'image files or folders')
    on_disk = [a for a in arguments if os.path.exists(a)]
    named = [a for a in arguments if a not in on_disk and is_dataset_split(a)]
    missing = [a for a in arguments if a not in on_disk and a not in named]
    if missing:
        raise AddaError('{}: no such file or folder (and not a dataset as DATASET:SPLIT, e.g. '
                        'mnist:test)'.format(missing[0]))
    if named and (on_disk or len(named) > 1):
        raise AddaError('give one DATASET:SPLIT or image files and folders, not both ({})'
                        .format(' '.join(arguments)))
    if named:
        return _dataset_inputs(*named[0].split(':'))
    return _file_inputs(on_disk)


def _dataset_inputs(name, split):
    from adda.data import get_dataset
    dataset = get_dataset(name)
    dataset.check_split(split)
    images = dataset.split(split)
    listing = getattr(dataset, 'listing', None)
    if listing is not None:  # an image folder: its files, in the order they were loaded
        folder = os.path.join(dataset.path, split)
        keys = [os.path.relpath(entry[0], folder) for entry in listing(split)]
        return Inputs(images, keys, 'file', images.classes, images.name)
    return Inputs(images, list(range(len(images))), 'index', images.classes, images.name)


def image_files(paths):
    """The image files among ``paths`` and below its folders, each folder's sorted by name."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            found = []
            for folder, subfolders, names in os.walk(path):
                subfolders[:] = sorted(s for s in subfolders if not s.startswith('.'))
                found += [os.path.join(folder, n) for n in sorted(names)
                          if not n.startswith('.') and n.lower().endswith(IMAGE_SUFFIXES)]
            if not found:
                raise AddaError('{}: no image files in the folder (looked for {})'.format(
                    path, ' '.join(IMAGE_SUFFIXES)))
            files += found
        else:
            files.append(path)
    return files


def _file_inputs(paths):
    from adda.data.dataset import ImageSplit
    from adda.data.images import decode_images
    files = image_files(paths)
    images, _ = decode_images(files, desc='reading')
    if images.dtype == np.uint8:
        images = images.astype(np.float32)
        images /= 255.0
    split = ImageSplit(images, None, None, '{} image file{}'.format(
        len(files), 's' if len(files) != 1 else ''), unlabelled='image files')
    return Inputs(split, files, 'file', None, split.name)


def class_probabilities(split, model_fn, weights, classes, batch_size, run_device, scope=None,
                        progress=None):
    """[images, classes] float32 softmax over the first len(classes) logits of the network
    with ``weights`` (a checkpoint prefix), for every image of ``split``."""
    from adda.checkpoints import restore
    from adda.compat import tf
    from adda.selection import softmax
    from adda.session import create_session
    from adda.snapshot_outputs import OutputGraph
    with tf.Graph().as_default():
        graph = OutputGraph(collections.OrderedDict([('images', split)]), model_fn, batch_size,
                            scope)
        with create_session(run_device) as sess:
            restore(sess, graph.model_vars, weights)
            logits = graph.compute(sess, progress)['images'].logits
    if logits.shape[1] < len(classes):
        raise AddaError('{} has {} outputs but the classes are {}'.format(
            weights, logits.shape[1], len(classes)))
    return softmax(logits[:, :len(classes)]).astype(np.float32)


def write_csv(stream, inputs, probabilities, classes, all_probabilities=False):
    """One row per image: its file or index, the predicted class's name and probability, and
    with ``all_probabilities`` every class's probability."""
    writer = csv.writer(stream, lineterminator='\n')
    header = [inputs.key, 'class', 'probability']
    if all_probabilities:
        header += ['p_{}'.format(name) for name in classes]
    writer.writerow(header)
    predicted = np.argmax(probabilities, axis=1)
    names = np.array([str(name) for name in classes], dtype=object)[predicted]
    chosen = probabilities[np.arange(len(predicted)), predicted]
    for i, key in enumerate(inputs.keys):
        row = [key, names[i], '{:.4f}'.format(chosen[i])]
        if all_probabilities:
            row += ['{:.4f}'.format(p) for p in probabilities[i]]
        writer.writerow(row)


def predicted_counts(probabilities, classes):
    """OrderedDict class name -> number of images predicted as it."""
    counts = np.bincount(np.argmax(probabilities, axis=1), minlength=len(classes))
    return collections.OrderedDict((str(name), int(n)) for name, n in zip(classes, counts))


def snapshot_classes(weights):
    """The class names of the labels the snapshot ``weights`` was trained on, from its run's
    config.yaml (the source's: train.py's dataset, train_adda.py's source); None when the
    snapshot is not in a run folder of ours or its source is unknown here."""
    from adda.data.registry import is_builtin
    from adda.rundir import read_run_config
    config = read_run_config(os.path.dirname(os.path.abspath(weights)))
    options = (config or {}).get('options')
    if not isinstance(options, dict):
        return None
    name = options.get('dataset') or str(options.get('source') or '').split(':')[0]
    recorded = (config.get('classes') or {}).get(name)
    if recorded:
        return tuple(str(c) for c in recorded)
    if name and is_builtin(name):
        from adda.data import get_dataset
        return tuple(get_dataset(name).classes)
    return None
