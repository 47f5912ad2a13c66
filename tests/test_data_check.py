"""``python -m adda.data check`` and ``list`` (adda/data/__main__.py, adda.data.check)."""
import os

from data_fixtures import real_part, root, write_folder, write_npz  # noqa: F401


def test_data_check_and_list_know_own_datasets(root):
    from click.testing import CliRunner
    from adda.data.__main__ import main
    pixels, labels = real_part('usps', 'test', 60)
    write_folder(root / 'mine', {'train': (pixels, labels), 'test': (pixels, labels)})
    write_npz(root / 'arrays.npz', {'train': (pixels, labels), 'test': (pixels, labels)})
    result = CliRunner().invoke(main, ['check', 'mine', 'arrays'])
    assert result.exit_code == 0 and result.output == ''
    listed = CliRunner().invoke(main, ['list']).output
    assert '{}{} (your own)'.format(root / 'mine', os.sep) in listed
    assert '{} (your own)'.format(root / 'arrays.npz') in listed
    for path in (root / 'mine' / 'test' / '3').iterdir():
        path.unlink()
    result = CliRunner().invoke(main, ['check', 'mine'])
    assert result.exit_code == 2
    assert 'no images in the class folder' in result.output
