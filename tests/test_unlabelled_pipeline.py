"""scripts/adapt.sh with a target nobody labelled, end to end: an image folder without class
folders (the faithful settings) and an .npz without y_train (the recipe): nothing is measured,
every image is predicted, the accuracy is estimated from a twin run the pipeline makes, and a
rerun does nothing again."""
import csv
import os
import subprocess

import numpy as np
import yaml

from conftest import ROOT, digit_images, task_script_env


def write_unlabelled(root, n=96):
    """scans/train/<image>.png (no class folders, no test split) and scans_array.npz
    (x_train only, and a labelled check set x_test/y_test) of stand-in digits; their labels
    are returned (for the reader of the test only)."""
    from PIL import Image
    labels = np.random.RandomState(7).randint(0, 10, n)
    pixels = np.round(digit_images(labels, 28, seed=7)[..., 0] * 255).astype(np.uint8)
    folder = root / 'scans' / 'train'
    folder.mkdir(parents=True)
    for i, image in enumerate(pixels):
        Image.fromarray(image).save(str(folder / '{:03d}.png'.format(i)))
    np.savez(str(root / 'scans_array.npz'), x_train=pixels, x_test=pixels[:40],
             y_test=labels[:40])
    return labels


def adapt(source, target, tmp_path, data, **settings):
    env = task_script_env(tmp_path, data, 0, **settings)
    env['ADDA_CACHE_DIR'] = str(tmp_path / 'cache')
    return subprocess.run(['bash', os.path.join(ROOT, 'scripts', 'adapt.sh'), source, target],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=900)


def rows(path):
    with open(str(path)) as f:
        return list(csv.DictReader(f))


def test_an_unlabelled_folder_end_to_end(data_root, tmp_path):
    write_unlabelled(data_root)
    result = adapt('usps', 'scans', tmp_path, data_root)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert 'Not evaluating source_only on scans train: it has no labels' in out
    assert 'Making the twin of usps-scans-seed0-it20+20 for the estimate' in out
    results = tmp_path / 'results'
    run, twin = results / 'usps-scans-seed0-it20+20', results / 'usps-scans-seed1-it20+20'
    assert not list(run.glob('source_only_*.yaml')) and not list(run.glob('adda_*.yaml'))
    predicted = rows(run / 'predictions_train.csv')
    assert [r['file'] for r in predicted] == ['{:03d}.png'.format(i) for i in range(96)]
    assert {r['class'] for r in predicted} <= {str(k) for k in range(10)}
    for folder in (run, twin):
        record = yaml.safe_load((folder / 'estimate_train.yaml').read_text())
        assert record['target'] == 'scans:train' and record['images'] == 96
        for name in ('source_only', 'adda'):
            found = record['estimates'][name]
            assert 0 <= found['low'] <= found['accuracy'] <= found['high'] <= 1
    record = yaml.safe_load((run / 'estimate_train.yaml').read_text())
    assert os.path.basename(record['twin']) == twin.name
    # the summary: nothing measured, both models estimated with an interval
    tail = out[out.rindex('==> usps-scans (usps-scans-seed0-it20+20)'):]
    assert 'Source only: no labels' in tail and 'ADDA:        no labels' in tail
    assert 'Estimated without target labels, [90% interval] (twin: usps-scans-seed1-it20+20)' \
        in tail
    adda_line = [line for line in tail.splitlines() if line.startswith('ADDA:')][-1]
    assert adda_line == 'ADDA:        {:.4f} [{:.4f}, {:.4f}]{}'.format(
        *(record['estimates']['adda'][k] for k in ('accuracy', 'low', 'high')),
        '' if record['estimates']['adda']['reliable'] else
        ' unreliable (the twin disagrees too much)')
    assert record['adaptation'] in ('helped', 'hurt', 'about the same', 'cannot tell')
    assert 'Adaptation, as estimated: {}'.format(record['adaptation']) in tail
    # a rerun with the same settings does nothing again
    again = adapt('usps', 'scans', tmp_path, data_root)
    assert again.returncode == 0, again.stderr[-2000:]
    assert 'finished earlier' in again.stdout and 'Training' not in again.stdout
    assert 'Estimated without target labels' in again.stdout


def test_an_unlabelled_array_with_the_recipe(data_root, tmp_path):
    write_unlabelled(data_root)
    result = adapt('mnist', 'scans_array', tmp_path, data_root, RECIPE='1')
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run = tmp_path / 'results' / 'mnist-scans_array-plus-seed0-it20+20'
    out = result.stdout
    assert 'Choosing a snapshot of' in out
    assert 'No curve of every kept snapshot on scans_array train: it has no labels' in out
    # the labelled check set is measured; the training images are predicted and estimated
    assert (run / 'selected_test.yaml').exists() and not (run / 'selected_train.yaml').exists()
    chosen = yaml.safe_load((run / 'selection.yaml').read_text())['chosen']['path']
    for split, count in (('train', 96), ('test', 40)):
        assert len(rows(run / 'predictions_{}.csv'.format(split))) == count
        record = yaml.safe_load((run / 'estimate_{}.yaml'.format(split)).read_text())
        assert record['reported'] == 'selected'
        assert record['estimates']['selected']['weights'] == chosen
        assert set(record['estimates']) == {'source_only', 'adda', 'selected'}
    tail = out[out.rindex('==> mnist-scans_array-plus'):]
    assert 'Chosen:      no labels / ' in tail


def test_a_source_without_labels_is_refused_before_anything_runs(data_root, tmp_path):
    write_unlabelled(data_root)
    result = adapt('scans', 'usps', tmp_path, data_root)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        'Error: scans train has no labels: a source must be labelled (a model learns its '
        'classes from it); scans can be the target']
    assert not (tmp_path / 'results').exists()
    assert [p.name for p in (tmp_path / 'snap').iterdir()] == ['.locks']  # its lock, released
