"""``python -m adda.data check NAME...``: check datasets whole, every file read and decoded, and
say what was found; ``python -m adda.data list``: the datasets under the data root.

Exit statuses of ``check``:

- 0: every dataset is whole; what was found is printed per dataset and split (images, labelled
  or not, classes, image sizes, the cache of an image folder);
- 1: files are missing (each printed as ``missing: <path>``, nothing else is read): scripts use
  it to skip tasks whose data is absent;
- 2: a name is unknown or a dataset is malformed (a bad file, a bad layout): one ``Error:`` line
  each, on stderr.

The same checks in-process: ``adda.data.check.check_datasets(names)``.
"""
import os
import sys

import click

from adda.data import data_root, dataset_names, get_dataset, own_dataset_names
from adda.data.cache import cache_dir
from adda.data.check import check_datasets


@click.group()
def main():
    """Dataset utilities."""


@main.command()
@click.argument('names', nargs=-1, required=True)
@click.option('--files-only', is_flag=True,
              help='Only look for the files (no decoding): exit 1 when one is missing.')
def check(names, files_only):
    """Check the datasets NAMES whole: every file there, read and decoded (filling an image
    folder's cache); then say what was found. Exit status 1 when files are missing, 2 when a
    dataset is malformed."""
    report = check_datasets(names, decode=not files_only)
    for path in report.missing:
        click.echo('missing: {}'.format(path))
    for line in report.problems:
        click.echo('Error: {}'.format(line), err=True)
    if not report.missing:
        for line in report.lines():
            click.echo(line)
    sys.exit(report.status)


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
