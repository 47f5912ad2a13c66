"""``python -m adda.data check NAME...``: list dataset files missing from the data root.

Exits 1 when a file is missing, so scripts can skip tasks whose data is absent; 2 when a name is
unknown or a dataset of one's own is malformed.
"""
import os
import sys

import click

from adda.data import data_root, dataset_names, get_dataset, own_dataset_names
from adda.data.cache import cache_dir
from adda.errors import AddaError


@click.group()
def main():
    """Dataset utilities."""


@main.command()
@click.argument('names', nargs=-1, required=True)
def check(names):
    """Exit 0 when every file of the datasets NAMES is under the data root, else list them."""
    try:
        missing = [path for name in names for path in get_dataset(name).missing_files()]
    except AddaError as e:
        click.echo('Error: {}'.format(e), err=True)
        sys.exit(2)
    for path in missing:
        click.echo('missing: {}'.format(path))
    sys.exit(1 if missing else 0)


@main.command('list')
def list_datasets():
    """Each dataset's name and folder under the data root, the built-in ones first."""
    for name in dataset_names():
        click.echo('{:10} {}'.format(name, get_dataset(name).path))
    own = own_dataset_names()
    for name in own:
        click.echo('{:10} {} (your own)'.format(name, os.path.join(data_root(), name) + (
            os.sep if os.path.isdir(os.path.join(data_root(), name)) else '.npz')))
    click.echo('(data root: {})'.format(data_root()))
    if own:
        click.echo('(decoded image folders are cached in {})'.format(cache_dir()))


if __name__ == '__main__':
    main()
