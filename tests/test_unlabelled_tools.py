"""The tools with a target nobody labelled: real MNIST digits as an image folder without class
folders and as an .npz without labels, a labelled source of real USPS digits."""
import csv
import io
import os

import numpy as np
import pytest
import yaml

from conftest import run_tool
from data_fixtures import real_part, root, write_folder, write_npz  # noqa: F401

TRAIN = ['--batch_size', 16, '--seed', 0, '--solver', 'adam', '--lr', 1e-3]


def write_images(folder, pixels):
    from PIL import Image
    os.makedirs(str(folder))
    for i, image in enumerate(pixels):
        Image.fromarray(image).save(os.path.join(str(folder), '{:04d}.png'.format(i)))


@pytest.fixture
def scans(root):  # noqa: F811
    """src.npz: 300 + 100 labelled USPS digits; scans/: 120 MNIST digits in train/ without
    class folders and a labelled test/ (the check set); scans_array.npz: x_train only."""
    write_npz(root / 'src.npz', {'train': real_part('usps', 'train', 300),
                                 'test': real_part('usps', 'test', 100)})
    pixels, labels = real_part('mnist', 'train', 120)
    write_images(root / 'scans' / 'train', pixels)
    test_pixels, test_labels = real_part('mnist', 'test', 60)
    write_folder(root / 'scans', {'test': (test_pixels, test_labels)})
    np.savez(str(root / 'scans_array.npz'), x_train=pixels)
    return root


@pytest.fixture
def adapted(scans, tmp_path):
    """A source model trained on src and adapted to scans:train for a few steps."""
    snap = tmp_path / 'snap'
    assert run_tool('train', 'src', 'train', 'lenet', 'src', '--iterations', 30,
                    '--snapshot_dir', snap, *TRAIN).returncode == 0
    result = run_tool('train_adda', 'src:train', 'scans:train', 'lenet', 'ad', '--weights',
                      snap / 'src', '--iterations', 10, '--snapshot', 5, '--adversary', 16,
                      '--snapshot_dir', snap, *TRAIN)
    assert result.returncode == 0, result.stderr[-2000:]
    return snap


def one_error_line(result):
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith('Error: '), result.stderr
    return lines[0]


@pytest.mark.parametrize('name', ['scans', 'scans_array'])
def test_an_unlabelled_dataset_cannot_be_a_source(scans, tmp_path, name):
    line = one_error_line(run_tool('train', name, 'train', 'lenet', 'x', '--iterations', 5,
                                   '--snapshot_dir', tmp_path / 'snap'))
    assert '{} train has no labels'.format(name) in line and 'source must be labelled' in line
    assert not (tmp_path / 'snap').exists()
    line = one_error_line(run_tool('train_adda', name + ':train', 'src:train', 'lenet', 'x',
                                   '--weights', tmp_path, '--snapshot_dir', tmp_path / 'snap'))
    assert 'source must be labelled' in line


def test_measuring_needs_labels_and_says_what_works_without(adapted):
    for tool, target in (('eval_classification', adapted / 'ad'),
                         ('snapshot_curve', adapted / 'ad')):
        line = one_error_line(run_tool(tool, 'scans_array', 'train', 'lenet', target))
        assert 'scans_array train has no labels' in line and 'predict' in line


def test_adaptation_to_an_unlabelled_target_records_the_source_classes(adapted):
    config = yaml.safe_load((adapted / 'ad' / 'config.yaml').read_text())
    assert config['classes'] == {'src': [str(k) for k in range(10)],
                                 'scans': [str(k) for k in range(10)]}
    assert (adapted / 'ad' / 'ad-10.index').exists()


def test_the_recipe_terms_adapt_to_images_with_no_labels_at_all(adapted, scans):
    """A folder with train/ only and no class folders has no classes of its own: the terms
    that keep per-class state (neighbour votes, class centroids) take the source's."""
    photos = scans / 'photos' / 'train'
    write_images(photos, real_part('mnist', 'train', 120)[0][:64])
    result = run_tool('train_adda', 'src:train', 'photos:train', 'lenet', 'terms', '--weights',
                      adapted / 'src', '--iterations', 4, '--adversary', 16, '--snapshot_dir',
                      adapted, '--target_pseudo', 1, '--pseudo_neighbours', 3,
                      '--pseudo_threshold', 0.0, '--target_centroid', 0.1, '--target_infomax',
                      0.3, *TRAIN)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (adapted / 'terms' / 'terms-4.index').exists()


def test_choosing_a_snapshot_of_an_unlabelled_target(adapted, tmp_path):
    record = tmp_path / 'selection.yaml'
    result = run_tool('select_snapshot', 'src:train', 'scans_array:train', 'lenet',
                      adapted / 'ad', '--output', record)
    assert result.returncode == 0, result.stderr[-2000:]
    chosen = yaml.safe_load(record.read_text())['chosen']
    assert chosen['step'] in (0, 5, 10)


def predictions(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_predictions_of_an_unlabelled_folder_name_each_file(adapted, tmp_path):
    out = tmp_path / 'pred.csv'
    result = run_tool('predict', 'lenet', adapted / 'ad', 'scans:train', '--output', out,
                      '--probabilities')
    assert result.returncode == 0, result.stderr[-2000:]
    rows = predictions(out.read_text())
    assert len(rows) == 120
    assert rows[0]['file'] == '0000.png' and rows[-1]['file'] == '0119.png'
    assert set(rows[0]) == {'file', 'class', 'probability'} | {'p_{}'.format(k)
                                                                for k in range(10)}
    for row in rows:
        probabilities = [float(row['p_{}'.format(k)]) for k in range(10)]
        assert abs(sum(probabilities) - 1) < 1e-3
        assert float(row['probability']) == max(probabilities)
        assert row['class'] == str(int(np.argmax(probabilities)))
    # the same images as an .npz: rows by index, the same classes
    result = run_tool('predict', 'lenet', adapted / 'ad', 'scans_array:train')
    assert result.returncode == 0, result.stderr[-2000:]
    by_index = predictions(result.stdout)
    assert 'index' in by_index[0], result.stdout[:300]
    assert [r['index'] for r in by_index] == [str(i) for i in range(120)]
    assert [r['class'] for r in by_index] == [r['class'] for r in rows]


def test_predictions_of_files_anywhere_on_disk(adapted, tmp_path, scans):
    elsewhere = tmp_path / 'photos'
    write_images(elsewhere / 'a', real_part('mnist', 'train', 120)[0][:5])
    result = run_tool('predict', 'lenet', adapted / 'ad', elsewhere,
                      scans / 'scans' / 'train' / '0000.png')
    assert result.returncode == 0, result.stderr[-2000:]
    rows = predictions(result.stdout)
    assert [os.path.basename(r['file']) for r in rows] == [
        '0000.png', '0001.png', '0002.png', '0003.png', '0004.png', '0000.png']
    assert rows[0]['class'] == rows[5]['class']  # the same image, the same prediction
    line = one_error_line(run_tool('predict', 'lenet', adapted / 'ad', tmp_path / 'nothere'))
    assert 'nothere: no such file or folder' in line


def test_predictions_agree_with_eval_on_labelled_images(adapted, tmp_path):
    record = tmp_path / 'eval.yaml'
    assert run_tool('eval_classification', 'scans', 'test', 'lenet', adapted / 'ad',
                    '--output', record).returncode == 0
    confusion = np.array(yaml.safe_load(record.read_text())['confusion_matrix'])
    result = run_tool('predict', 'lenet', adapted / 'ad', 'scans:test')
    rows = predictions(result.stdout)
    truth = [int(r['file'].split(os.sep)[0]) for r in rows]  # the class folder
    found = np.zeros((10, 10), np.int64)
    for label, row in zip(truth, rows):
        found[label, int(row['class'])] += 1
    np.testing.assert_array_equal(found, confusion)
