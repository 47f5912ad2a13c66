"""The report with accuracies estimated without target labels: estimated rows marked as such,
runs on an unlabelled target counted, and --estimates comparing estimate with measurement."""
import pytest
import yaml

from conftest import run_tool
from report_fixtures import fake_run, four

pytestmark = pytest.mark.once


def write_estimates(folder, split, **models):
    """estimate_<split>.yaml with (accuracy, low, high) per model, as tools/estimate.py does."""
    (folder / 'estimate_{}.yaml'.format(split)).write_text(yaml.safe_dump({
        'target': 'x:{}'.format(split), 'images': 100, 'twin': '/elsewhere/twin',
        'reported': 'adda', 'estimates': {
            name: {'accuracy': a, 'low': low, 'high': high, 'method': 'm', 'agreement': a,
                   'cap': None, 'weights': '/w'} for name, (a, low, high) in models.items()}}))


def test_estimated_rows_are_marked_and_compared(tmp_path):
    results = tmp_path / 'results'
    for seed, (adda, estimate) in enumerate([(0.90, 0.88), (0.94, 0.99)]):
        fake_run(results, 'usps-mnist', seed, four(0.6, 0.62, adda, adda))
        folder = results / 'usps-mnist-seed{}'.format(seed)
        for split in ('train', 'test'):
            write_estimates(folder, split, source_only=(0.61, 0.55, 0.7),
                            adda=(estimate, estimate - 0.03, estimate + 0.03))
    lines = run_tool('report', results).stdout.splitlines()
    rows = [l for l in lines if l.startswith('| USPS→MNIST')]
    assert '| USPS→MNIST | ADDA | 0.901 ± 0.008 | 0.920 ± 0.028 | 0.900 | 0.920 ± 0.028 | 2 |' \
        in rows
    assert '| USPS→MNIST | ADDA, estimated without target labels | — | 0.935 ± 0.078 (est.) | ' \
        '0.880 (est.) | 0.935 ± 0.078 (est.) | 2 |' in rows
    # no column mixes the two: every estimated cell says so
    for row in rows:
        if 'estimated' in row:
            cells = row.split(' | ')[3:6]
            assert all(c.endswith('(est.)') or c == '—' for c in cells), row
    table = run_tool('report', results, '--estimates').stdout
    assert '| USPS→MNIST | usps-mnist-seed1 | ADDA | train | 0.9400 | 0.9900 [0.9600, 1.0200] ' \
        '| +0.0500 | **no** |' in table
    assert '| USPS→MNIST | usps-mnist-seed0 | ADDA | train | 0.9000 | 0.8800 [0.8500, 0.9100] ' \
        '| -0.0200 | yes |' in table
    assert 'Absolute error over 8 rows: mean 0.0225, worst 0.0500; the interval held the ' \
        'measured accuracy in 6 of 8 rows (75%).' in table
    assert 'What the estimates said adaptation did: helped 4.' in table
    assert 'no verdict was the opposite of the measured change' in table


def test_a_wrong_verdict_is_named_and_an_unreliable_one_is_no_verdict(tmp_path):
    results = tmp_path / 'results'
    fake_run(results, 'usps-mnist', 0, four(0.80, 0.80, 0.70, 0.70))  # adaptation hurt
    folder = results / 'usps-mnist-seed0'
    for split in ('train', 'test'):
        write_estimates(folder, split, source_only=(0.78, 0.7, 0.85), adda=(0.9, 0.85, 0.95))
    table = run_tool('report', results, '--estimates').stdout
    assert 'the opposite verdict in usps-mnist-seed0 train (measured 0.8000 -> 0.7000, ' \
        'estimated 0.7800 -> 0.9000: helped)' in table
    # the same estimates marked unreliable (the twin disagreed too much): no verdict
    for split in ('train', 'test'):
        path = folder / 'estimate_{}.yaml'.format(split)
        record = yaml.safe_load(path.read_text())
        for found in record['estimates'].values():
            found['reliable'] = False
        path.write_text(yaml.safe_dump(record))
    table = run_tool('report', results, '--estimates').stdout
    assert 'What the estimates said adaptation did: cannot tell 2.' in table
    assert 'no verdict was the opposite of the measured change' in table
    assert '0.9000 [0.8500, 0.9500] unreliable |' in table


def test_a_run_on_an_unlabelled_target_counts_with_its_estimates(tmp_path):
    results = tmp_path / 'results'
    folder = results / 'mnist-scans-seed0'
    folder.mkdir(parents=True)
    (folder / 'run.yaml').write_text(yaml.safe_dump({
        'task': 'mnist-scans', 'seed': 0, 'source': 'mnist', 'target': 'scans',
        'source_iterations': 10000, 'adapt_iterations': 10000, 'task_settings': True,
        'train_args': '', 'select': False,
        'source_args': '--iterations 10000 --batch_size 128 --display 10 --lr 1e-3 --snapshot '
                       '5000 --solver adam',
        'adapt_args': '--iterations 10000 --batch_size 128 --display 10 --lr 2e-4 --snapshot '
                      '5000 --solver adam --adversary_relu'}))
    (folder / 'predictions_train.csv').write_text('file,class,probability\n')
    write_estimates(folder, 'train', source_only=(0.7, 0.6, 0.8), adda=(0.9, 0.88, 0.92))
    result = run_tool('report', results)
    rows = [l for l in result.stdout.splitlines() if l.startswith('| mnist→scans')]
    assert rows == [
        '| mnist→scans | source only, estimated without target labels | — | 0.700 (1 run) '
        '(est.) | 0.700 (est.) | — | 1 |',
        '| mnist→scans | ADDA, estimated without target labels | — | 0.900 (1 run) (est.) | '
        '0.900 (est.) | — | 1 |']
    assert 'No run has both' in run_tool('report', results, '--estimates').stdout
