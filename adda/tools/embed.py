#!/usr/bin/env python
"""A 2-D embedding (t-SNE) of a model's features of source and target images, one panel per
snapshot: the picture that shows whether adaptation aligned the two domains."""
import logging
import os

import click

from adda.cli import (LAYERS, POSITIVE, adda_command, check_dataset, command, device_options,
                      option, parse_dataset_split, select_gpu)
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
            ax.scatter(points[keep, 0], points[keep, 1], c=[colours(int(c) % 10) for c in
                                                           classes[keep]],
                       marker=marker, s=9 if marker == 'o' else 12, linewidths=0.6,
                       alpha=0.75, label=domain)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    handles = [plt.Line2D([], [], color='grey', marker=m, linestyle='', label=d)
               for d, m in MARKERS.items()]
    handles += [plt.Line2D([], [], color=colours(c), marker='s', linestyle='', label=str(c))
                for c in range(int(np.max(np.concatenate([p[3] for p in panels]))) + 1)]
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


@command()
@click.argument('source')
@click.argument('target')
@click.argument('model')
@click.argument('weights', nargs=-1, required=True)
@option('--output', required=True, type=click.Path(dir_okay=False),
        help='The picture to write (PNG, or another format matplotlib knows by its extension).')
@option('--layer', default='fc3', type=click.Choice(LAYERS), group='Data and model',
        help="The layer whose output is embedded (fc3: the encoder's output).")
@option('--images', default=1000, type=POSITIVE, group='Data and model',
        help='Images per domain: a fixed-seed sample (seed 0) of each split.')
@option('--title', 'titles', multiple=True, group='Output',
        help='A panel title per WEIGHTS, in order [default: the snapshot\'s name].')
@option('--perplexity', default=30.0, type=click.FloatRange(min=2.0), group='Output',
        help="t-SNE's perplexity (roughly, how many neighbours each point has).")
@option('--seed', default=0, type=click.IntRange(min=0), group='Output',
        help="t-SNE's random state.")
@option('--points', type=click.Path(dir_okay=False), group='Output',
        help='Also write the 2-D points, domains and classes as YAML to this file.')
@option('--batch_size', default=1000, type=POSITIVE, group='Device',
        help='Images per session call.')
@device_options
@adda_command
def main(source, target, model, weights, output, layer, images, titles, perplexity, seed, points,
         batch_size, gpu, device, precision):
    """Embed MODEL's LAYER features of SOURCE and TARGET images (each dataset:split) in 2-D, one
    panel per WEIGHTS (a checkpoint prefix or a run folder), side by side.

    As in ADDA, the source images go through the first WEIGHTS (the source model, frozen during
    adaptation) in every panel, the target images through each panel's WEIGHTS. Typical: the
    source model, then the adapted model of a run. The labels of both splits colour the points
    (the picture uses target labels; nothing is chosen with it).
    """
    source_name, source_split = parse_dataset_split(source, 'source')
    target_name, target_split = parse_dataset_split(target, 'target')
    check_dataset(source_name, source_split)
    check_dataset(target_name, target_split)
    if titles and len(titles) != len(weights):
        raise AddaError('{} --title for {} WEIGHTS: give one per WEIGHTS, or none'.format(
            len(titles), len(weights)))
    from adda.checks import check_output_file
    check_output_file(output, '--output')
    check_output_file(points, '--points')
    select_gpu(gpu)
    import collections

    import numpy as np

    from adda.checkpoints import resolve_weights
    from adda.checks import ModelShapes, check_weights
    from adda.data import get_split
    from adda.models import get_model_fn
    from adda.session import session_config
    from adda.snapshot_outputs import Snapshot, outputs_per_snapshot, sample_indices, sample_of
    from adda.util import write_yaml

    model_fn = get_model_fn(model)
    shapes = ModelShapes(model_fn)
    paths = [resolve_weights(w) for w in weights]
    for path in paths:
        check_weights(path, shapes, option='WEIGHTS')
    splits = collections.OrderedDict()
    classes = []
    for domain, name, split in (('source', source_name, source_split),
                                ('target', target_name, target_split)):
        data = get_split(name, split)
        splits[domain] = sample_of(data, images)
        classes.append(np.asarray(data.labels)[sample_indices(len(data.labels), images)])
    domains = np.array(['source'] * len(classes[0]) + ['target'] * len(classes[1]))
    classes = np.concatenate(classes)
    run_device = session_config(device, precision)
    panels, record, source_features = [], [], None
    snapshots = [Snapshot(i, p) for i, p in enumerate(paths)]
    for snapshot, outputs in outputs_per_snapshot(splits, model_fn, snapshots, batch_size,
                                                  run_device, model, layer):
        if source_features is None:  # ADDA's frozen source network: the first WEIGHTS
            source_features = outputs['source'].features
        features = np.concatenate([source_features, outputs['target'].features])
        logging.info('t-SNE of %d x %d features of %s', features.shape[0], features.shape[1],
                     snapshot.path)
        xy = embed_2d(features.astype(np.float64), perplexity, seed)
        title = titles[snapshot.step] if titles else os.path.basename(snapshot.path)
        panels.append((title, xy, domains, classes))
        record.append({'title': title, 'weights': os.path.abspath(snapshot.path),
                       'points': xy.round(4).tolist()})
    draw(panels, output, layer)
    logging.info('Wrote %s', output)
    if points:
        write_yaml(points, {'layer': layer, 'source': source, 'target': target,
                            'domains': domains.tolist(), 'classes': classes.tolist(),
                            'panels': record})
    return 0


if __name__ == '__main__':
    main()
