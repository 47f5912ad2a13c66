"""A run folder belongs to one run: a second run is refused unless told to continue it
(--resume, with the same settings) or to replace it (--overwrite); evaluation records say which
snapshot of which run they measured."""
import os

import yaml

from conftest import run_tool
from test_faults import listing


def train(snap, *extra, **kwargs):
    return run_tool('train', 'usps', 'train', 'lenet', 'lenet_usps', '--snapshot_dir', snap,
                    '--snapshot', 10, '--batch_size', 16, '--display', 100, '--seed', 0,
                    *extra, **kwargs)


def error_lines(result):
    return [line for line in result.stderr.splitlines() if line.strip()]


def test_a_second_run_is_refused_and_the_first_left_as_it_was(data_root, tmp_path):
    snap = tmp_path / 'snap'
    first = train(snap, '--iterations', 30, '--solver', 'adam')
    assert first.returncode == 0, first.stderr[-2000:]
    before = listing(snap / 'lenet_usps')
    second = train(snap, '--iterations', 20)
    assert second.returncode == 1
    assert error_lines(second) == [
        'Error: output folder {} holds another run (snapshots up to iteration 30); continue it '
        'with --resume, or replace it with --overwrite'.format(snap / 'lenet_usps')]
    assert listing(snap / 'lenet_usps') == before


def test_overwrite_replaces_the_run_after_the_checks(data_root, tmp_path):
    snap = tmp_path / 'snap'
    assert train(snap, '--iterations', 30, '--solver', 'adam').returncode == 0
    before = listing(snap / 'lenet_usps')
    # a new run whose arguments fail their checks removes nothing
    bad = train(snap, '--iterations', 20, '--overwrite', '--weights', tmp_path / 'nothing')
    assert bad.returncode == 1 and 'weights' in bad.stderr
    assert listing(snap / 'lenet_usps') == before
    result = train(snap, '--iterations', 20, '--overwrite')
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'Removed the previous run in {} ('.format(snap / 'lenet_usps') in result.stdout
    names = sorted(n for n in os.listdir(str(snap / 'lenet_usps')) if n.endswith('.index'))
    assert names == ['lenet_usps-10.index', 'lenet_usps-20.index']
    config = yaml.safe_load((snap / 'lenet_usps' / 'config.yaml').read_text())
    assert config['options']['solver'] == 'sgd' and config['options']['iterations'] == 20
    log = (snap / 'lenet_usps' / 'train.log').read_text()
    assert 'Iteration 30' not in log  # the old run's log went with it
    both = train(snap, '--iterations', 20, '--overwrite', '--resume')
    assert both.returncode == 1 and 'choose one' in error_lines(both)[0]


def test_resume_refuses_other_settings_one_line_each(data_root, tmp_path):
    snap = tmp_path / 'snap'
    assert train(snap, '--iterations', 20, '--solver', 'adam').returncode == 0
    before = listing(snap / 'lenet_usps')
    result = train(snap, '--iterations', 40, '--resume', '--solver', 'sgd', '--batch_size', 8,
                   '--lr', 1e-3, '--augment', 0.1)
    assert result.returncode == 1
    lines = error_lines(result)
    assert lines[0] == ('Error: cannot resume in {}: the run there was started with other '
                        'settings (old -> new):'.format(snap / 'lenet_usps'))
    assert sorted(lines[1:-1]) == ['  --augment: 0.0 -> 0.1', '  --batch_size: 16 -> 8',
                                   '  --lr: 0.0001 -> 0.001', '  --solver: adam -> sgd']
    assert 'Traceback' not in result.stderr
    assert listing(snap / 'lenet_usps') == before
    # more iterations with the same settings: that is what resume is for
    grown = train(snap, '--iterations', 40, '--resume', '--solver', 'adam')
    assert grown.returncode == 0, grown.stderr[-2000:]
    assert (snap / 'lenet_usps' / 'lenet_usps-40.index').is_file()


def test_resume_of_an_adaptation_checks_its_starting_weights_and_options(data_root, tmp_path):
    snap = tmp_path / 'snap'
    for name in ('a', 'b'):
        result = run_tool('train', 'mnist', 'train', 'lenet', name, '--snapshot_dir', snap,
                          '--iterations', 10, '--batch_size', 16, '--seed', 0)
        assert result.returncode == 0, result.stderr[-2000:]

    def adapt(weights, *extra):
        return run_tool('train_adda', 'mnist:train', 'usps:train', 'lenet', 'ad', '--weights',
                        snap / weights, '--snapshot_dir', snap, '--batch_size', 16,
                        '--snapshot', 10, '--adversary', 16, '--seed', 0, *extra)
    assert adapt('a', '--iterations', 10).returncode == 0
    result = adapt('b', '--iterations', 20, '--resume', '--adversary_relu',
                   '--target_infomax', 0.3)
    assert result.returncode == 1
    lines = error_lines(result)
    assert '  --weights: {} -> {}'.format(snap / 'a' / 'a-10', snap / 'b' / 'b-10') in lines
    assert '  --adversary_leaky: True -> False' in lines
    assert '  --target_infomax: 0.0 -> 0.3' in lines


def test_evaluation_records_say_which_snapshot_of_which_run(data_root, tmp_path):
    snap = tmp_path / 'snap'
    assert train(snap, '--iterations', 20, '--solver', 'adam').returncode == 0
    out = tmp_path / 'eval.yaml'
    result = run_tool('eval_classification', 'usps', 'test', 'lenet',
                      snap / 'lenet_usps' / 'lenet_usps-10', '--output', out)
    assert result.returncode == 0, result.stderr[-2000:]
    snapshot = yaml.safe_load(out.read_text())['snapshot']
    assert snapshot['step'] == 10 and snapshot['iterations'] == 20 and snapshot['seed'] == 0
    assert snapshot['run'] == str(snap / 'lenet_usps')
    assert snapshot['settings']['solver'] == 'adam'
    assert snapshot['settings']['batch_size'] == 16
    # the per-class accuracies are printed under their class names
    lines = result.stdout.splitlines()
    at = [i for i, line in enumerate(lines) if line.endswith('Class accuracies:')][0]
    assert lines[at + 1].split()[-10:] == [str(c) for c in range(10)]
    assert len(lines[at + 2].split()[-10:]) == 10


def test_train_log_starts_with_the_first_console_line(data_root, tmp_path):
    snap = tmp_path / 'snap'
    result = train(snap, '--iterations', 10, '--resume')
    assert result.returncode == 0, result.stderr[-2000:]
    first = (snap / 'lenet_usps' / 'train.log').read_text().splitlines()[0]
    assert first.endswith('Training lenet on usps train (300 images)')
    assert 'Starting a new run in {} (nothing to resume there yet)'.format(
        snap / 'lenet_usps') in result.stdout
    assert 'WARNING' not in result.stdout + result.stderr


def test_a_run_from_before_an_option_existed_resumes_with_its_default():
    """A config.yaml written before --target_vat/--vat_radius existed had them off: resuming
    it with the defaults finds no difference, and with the option on names it."""
    from adda.rundir import command_defaults, setting_differences
    from adda.tools.train_adda import main as train_adda
    old = {'source': 'usps1800:train', 'lr': 2e-4, 'target_infomax': 0.3}
    defaults = dict(old, target_vat=0.0, vat_radius=2.0)
    known = command_defaults(train_adda)
    assert setting_differences(old, defaults, known) == []
    assert setting_differences(old, dict(defaults, target_vat=1.0), known) == [
        '--target_vat: 0.0 -> 1.0']
