#!/usr/bin/env python
"""A 2-D embedding (t-SNE) of a model's features of source and target images, one panel per
snapshot: the picture that shows whether adaptation aligned the two domains."""
import logging
import os

import click

from adda.cli import (DATA, DEVICE, LAYERS, OUTPUT, POSITIVE, adda_command, check_dataset,
                      parse_dataset_split, select_gpu)
from adda.options import DEVICE_OPTIONS, Argument, Option, Tool
from adda.errors import AddaError

MARKERS = {'source': 'o', 'target': 'x'}


def embed_2d(features, perplexity, seed):
    """t-SNE (scikit-learn) of the rows of ``features`` to 2-D."""
    try:
        from sklearn.manifold import TSNE
    except ImportError:
        raise AddaError('embed needs scikit-learn, which is not installed here (pip install '
                        'scikit-learn, or pip install -r requirements.txt)')
    perplexity = min(float(perplexity), (len(features) - 1) / 3.0)
    return TSNE(n_components=2, perplexity=perplexity, init='pca', learning_rate=200.0,
                random_state=seed).fit_transform(features)


def draw(panels, path, layer):
    """One scatter panel per (title, points, domains, classes); classes by colour, domains by
    marker; written whole or not at all."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    from adda.util import atomic_output

    figure, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 5.4), squeeze=False)
    colours = plt.get_cmap('tab10')
    for ax, (title, points, domains, classes) in zip(axes[0], panels):
        for domain, marker in MARKERS.items():
            keep = domains == domain
            ax.scatter(points[keep, 0], points[keep, 1], c=[colours(int(c) % 10) if c >= 0 else
                                                           'lightgrey' for c in classes[keep]],
                       marker=marker, s=9 if marker == 'o' else 12, linewidths=0.6,
                       alpha=0.75, label=domain)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    handles = [plt.Line2D([], [], color='grey', marker=m, linestyle='', label=d)
               for d, m in MARKERS.items()]
    handles += [plt.Line2D([], [], color=colours(c), marker='s', linestyle='', label=str(c))
                for c in range(int(np.max(np.concatenate([p[3] for p in panels]))) + 1)]
    if any(np.any(p[3] < 0) for p in panels):
        handles.append(plt.Line2D([], [], color='lightgrey', marker='s', linestyle='',
                                  label='no label'))
    figure.legend(handles=handles, loc='lower center', ncol=len(handles), fontsize=8,
                  frameon=False)
    figure.suptitle('t-SNE of the {} features; colour: class, marker: domain'.format(layer),
                    fontsize=11)
    figure.tight_layout(rect=(0, 0.06, 1, 0.95))
    try:
        with atomic_output(path, 'the picture') as tmp:
            figure.savefig(tmp, dpi=110, format=os.path.splitext(path)[1][1:].lower() or 'png')
    except ValueError as e:
        raise AddaError('cannot write the picture {}: {}'.format(path, e))
    plt.close(figure)


TOOL = Tool(
    'embed',
    Argument('source'), Argument('target'), Argument('model'),
    Argument('weights', nargs=-1, required=True),
    Option('output', click.Path(dir_okay=False), required=True,
           help='The picture to write (PNG, or another format matplotlib knows by its '
                'extension).'),
    Option('layer', click.Choice(LAYERS), 'fc3', "The layer whose output is embedded (fc3: the "
           "encoder's output).", DATA),
    Option('images', POSITIVE, 1000, 'Images per domain: a fixed-seed sample (seed 0) of each '
           'split.', DATA),
    Option('titles', flags=('--title',), multiple=True, group=OUTPUT,
           help='A panel title per WEIGHTS, in order [default: the snapshot\'s name].'),
    Option('perplexity', click.FloatRange(min=2.0), 30.0, "t-SNE's perplexity (roughly, how "
           "many neighbours each point has).", OUTPUT),
    Option('seed', click.IntRange(min=0), 0, "t-SNE's random state.", OUTPUT),
    Option('points', click.Path(dir_okay=False), group=OUTPUT,
           help='Also write the 2-D points, domains and classes as YAML to this file.'),
    Option('batch_size', POSITIVE, 1000, 'Images per session call.', DEVICE),
    DEVICE_OPTIONS,
)


@TOOL.command
@adda_command
def main(settings):
    """Embed MODEL's LAYER features of SOURCE and TARGET images (each dataset:split) in 2-D, one
    panel per WEIGHTS (a checkpoint prefix or a run folder), side by side.

    As in ADDA, the source images go through the first WEIGHTS (the source model, frozen during
    adaptation) in every panel, the target images through each panel's WEIGHTS. Typical: the
    source model, then the adapted model of a run. The labels of both splits colour the points
    (the picture uses target labels; nothing is chosen with it).
    """
    source_name, source_split = parse_dataset_split(settings.source, 'source')
    target_name, target_split = parse_dataset_split(settings.target, 'target')
    check_dataset(source_name, source_split)
    check_dataset(target_name, target_split)
    if settings.titles and len(settings.titles) != len(settings.weights):
        raise AddaError('{} --title for {} WEIGHTS: give one per WEIGHTS, or none'.format(
            len(settings.titles), len(settings.weights)))
    from adda.checks import check_output_file
    check_output_file(settings.output, '--output')
    check_output_file(settings.points, '--points')
    select_gpu(settings.gpu)
    from adda.checkpoints import resolve_weights
    from adda.checks import ModelShapes, check_weights
    from adda.models import get_model_fn
    from adda.records import write_record

    model_fn = get_model_fn(settings.model)
    shapes = ModelShapes(model_fn)
    paths = [resolve_weights(w) for w in settings.weights]
    for path in paths:
        check_weights(path, shapes, option='WEIGHTS')
    splits, domains, classes = sampled_splits(((source_name, source_split),
                                               (target_name, target_split)), settings.images)
    panels, record = embed_panels(settings, model_fn, paths, splits, domains, classes)
    draw(panels, settings.output, settings.layer)
    logging.info('Wrote %s', settings.output)
    if settings.points:
        write_record(settings.points, {
            'layer': settings.layer, 'source': settings.source, 'target': settings.target,
            'domains': domains.tolist(), 'classes': classes.tolist(), 'panels': record})
    return 0


def sampled_splits(names, images):
    """(OrderedDict domain -> the fixed-seed sample of at most ``images`` of its split, each
    point's domain, each point's class) for the source's and the target's (name, split)."""
    import collections

    import numpy as np

    from adda.data import get_split
    from adda.snapshot_outputs import sample_indices, sample_of
    splits = collections.OrderedDict()
    classes = []
    for domain, (name, split) in zip(('source', 'target'), names):
        data = get_split(name, split)
        splits[domain] = sample_of(data, images)
        if data.labelled:
            classes.append(np.asarray(data.labels)[sample_indices(len(data), images)])
        else:  # no labels: grey points
            classes.append(np.full(len(sample_indices(len(data), images)), -1, np.int64))
    domains = np.array(['source'] * len(classes[0]) + ['target'] * len(classes[1]))
    return splits, domains, np.concatenate(classes)


def embed_panels(settings, model_fn, paths, splits, domains, classes):
    """(a panel per snapshot of ``paths``: (title, 2-D points, domains, classes); what the
    points file records of each), the source images through the first snapshot."""
    import numpy as np

    from adda.session import session_config
    from adda.snapshot_outputs import Snapshot, outputs_per_snapshot
    run_device = session_config(settings.device, settings.precision)
    panels, record, source_features = [], [], None
    snapshots = [Snapshot(i, p) for i, p in enumerate(paths)]
    for snapshot, outputs in outputs_per_snapshot(splits, model_fn, snapshots,
                                                  settings.batch_size, run_device,
                                                  settings.model, settings.layer):
        if source_features is None:  # ADDA's frozen source network: the first WEIGHTS
            source_features = outputs['source'].features
        features = np.concatenate([source_features, outputs['target'].features])
        logging.info('t-SNE of %d x %d features of %s', features.shape[0], features.shape[1],
                     snapshot.path)
        xy = embed_2d(features.astype(np.float64), settings.perplexity, settings.seed)
        title = settings.titles[snapshot.step] if settings.titles else \
            os.path.basename(snapshot.path)
        panels.append((title, xy, domains, classes))
        record.append({'title': title, 'weights': os.path.abspath(snapshot.path),
                       'points': xy.round(4).tolist()})
    return panels, record


if __name__ == '__main__':
    main()
