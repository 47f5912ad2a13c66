"""A run folder belongs to one run: a second run is refused unless told to continue it
(--resume, with the same settings) or to replace it (--overwrite); evaluation records say which
snapshot of which run they measured."""
import os
import shutil

import pytest
import yaml

from adda.rundir import ADAPTATION_SETTINGS, recorded_adaptation, setting_differences
from adda.terms import record, recorded_options
from conftest import ROOT, run_tool, write_mnist, write_usps
from fault_fixtures import listing


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


def test_overwrite_removes_the_run_and_nothing_else(data_root, tmp_path):
    """The user's notes, a folder of their own, a file in state/ and a link to a folder
    elsewhere stay, the link's target untouched; the log names what stayed (--overwrite used
    to empty the whole folder but its lock)."""
    snap = tmp_path / 'snap'
    assert train(snap, '--iterations', 20).returncode == 0
    run = snap / 'lenet_usps'
    (run / 'notes.txt').write_text('my notes')
    (run / 'analysis').mkdir()
    (run / 'analysis' / 'plot.png').write_bytes(b'png')
    (run / 'state' / 'mine.txt').write_text('mine')
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    (elsewhere / 'precious.txt').write_text('precious')
    os.symlink(str(elsewhere), str(run / 'link'))
    result = train(snap, '--iterations', 10, '--overwrite')
    assert result.returncode == 0, result.stderr[-2000:]
    assert (run / 'notes.txt').read_text() == 'my notes'
    assert (run / 'analysis' / 'plot.png').read_bytes() == b'png'
    assert (run / 'state' / 'mine.txt').read_text() == 'mine'
    assert os.path.islink(str(run / 'link'))
    assert (elsewhere / 'precious.txt').read_text() == 'precious'
    assert sorted(os.listdir(str(elsewhere))) == ['precious.txt']
    assert "Kept what is not the run's in {}: analysis/, link, notes.txt, state/mine.txt".format(
        run) in result.stdout
    # the new run alone is there: its snapshots, its state, its log
    assert sorted(n for n in os.listdir(str(run)) if n.endswith('.index')) == [
        'lenet_usps-10.index']
    assert 'Iteration 10:' not in (run / 'train.log').read_text().split('Removed the previous')[1]
    config = yaml.safe_load((run / 'config.yaml').read_text())
    assert config['options']['iterations'] == 10


def test_a_folder_without_a_run_is_never_emptied(data_root, tmp_path):
    snap = tmp_path / 'snap'
    (snap / 'lenet_usps').mkdir(parents=True)
    (snap / 'lenet_usps' / 'notes.txt').write_text('my notes')
    result = train(snap, '--iterations', 10, '--overwrite')
    assert result.returncode == 0, result.stderr[-2000:]
    assert (snap / 'lenet_usps' / 'notes.txt').read_text() == 'my notes'
    assert 'Removed the previous run' not in result.stdout


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


# config.yaml files written by the tools of older commits (tiny runs: `train.py mnist train lenet
# src --iterations 10 --snapshot 10 --batch_size 16 --seed 0 --snapshot_dir snap`, then
# `train_adda.py mnist:train usps:train lenet ad --weights snap/src/src-10 --iterations 10
# --snapshot 10 --batch_size 16 --adversary 16 --seed 0 --snapshot_dir snap`), each from the
# commit before options came: file -> the options that came after it.
CONFIGS_BEFORE = os.path.join(ROOT, 'tests', 'configs_before')
TRAIN = ['mnist', 'train', 'lenet', 'src', '--snapshot', 10, '--batch_size', 16, '--seed', 0,
         '--snapshot_dir', 'snap']
ADAPT = ['mnist:train', 'usps:train', 'lenet', 'ad', '--weights', 'snap/src/src-10',
         '--snapshot', 10, '--batch_size', 16, '--adversary', 16, '--seed', 0]


def added_after(change):
    return [o.name for o, _ in recorded_options() if o.added > change]


BEFORE = {
    'train-a074324.yaml': ['augment', 'augment_stroke', 'augment_zoom', 'augment_shear'],
    'train-c15362f.yaml': ['augment', 'augment_stroke', 'augment_zoom', 'augment_shear'],
    'train-a09b59d.yaml': ['augment_stroke', 'augment_zoom', 'augment_shear'],
    'train-930ca03.yaml': ['augment_stroke', 'augment_zoom', 'augment_shear'],
    'train-afcf216.yaml': ['augment_zoom', 'augment_shear'],
    'train-f00734e.yaml': ['augment_shear'],
    # the adaptation options by the change that added them (adda.terms.Option.added)
    'train_adda-a074324.yaml': added_after(0),
    'train_adda-485f87b.yaml': added_after(1),
    'train_adda-a09b59d.yaml': added_after(2),
    'train_adda-afcf216.yaml': added_after(3),
    'train_adda-d439b02.yaml': added_after(4),
    'train_adda-98ecb2a.yaml': added_after(5),
    'train_adda-f00734e.yaml': added_after(6),
}


def read_yaml(path):
    with open(str(path)) as f:
        return yaml.safe_load(f)


@pytest.fixture(scope='module')
def runs_of_today(tmp_path_factory):
    """A folder holding a source run and an adaptation run of today's tools, made with the
    fixtures' commands; returns (folder, the data root)."""
    folder = tmp_path_factory.mktemp('today')
    write_mnist(str(folder / 'data' / 'mnist'))
    write_usps(str(folder / 'data' / 'usps'))
    env = {'ADDA_DATA_DIR': str(folder / 'data')}
    for tool, args in (('train', TRAIN), ('train_adda', ADAPT + ['--snapshot_dir', 'snap'])):
        result = run_tool(tool, *(args + ['--iterations', 10]), env=env, cwd=folder)
        assert result.returncode == 0, result.stderr[-2000:]
    return folder, env


def test_the_fixtures_lack_the_options_that_came_later():
    names = sorted(n for n in os.listdir(CONFIGS_BEFORE) if n.endswith('.yaml'))
    assert names == sorted(BEFORE)
    for name, later in BEFORE.items():
        options = read_yaml(os.path.join(CONFIGS_BEFORE, name))['options']
        tool_options = ADAPTATION_SETTINGS if name.startswith('train_adda') else (
            'augment', 'augment_stroke', 'augment_zoom', 'augment_shear')
        assert [k for k in tool_options if k not in options] == later, name


@pytest.mark.parametrize('name', sorted(BEFORE))
def test_a_run_from_before_an_option_existed_resumes(runs_of_today, tmp_path, name):
    """A run whose config.yaml an older commit's tool wrote, before some options existed, is
    resumed by today's tool with the same command: each option it lacks takes the value the
    tool records for that run (its default, or its term's off value when the term is off, as
    --vat_radius 0.0 with VAT off)."""
    today, env = runs_of_today
    adaptation = name.startswith('train_adda')
    tool, args, run = ('train_adda', ADAPT, 'ad') if adaptation else ('train', TRAIN, 'src')
    shutil.copytree(str(today), str(tmp_path / 'run'))
    folder = tmp_path / 'run' / 'snap' / run
    recorded = read_yaml(folder / 'config.yaml')['options']
    old = read_yaml(os.path.join(CONFIGS_BEFORE, name))['options']
    if adaptation:
        filled = recorded_adaptation(old)
        assert [k for k in BEFORE[name] if filled[k] != recorded[k]] == []
    shutil.copy(os.path.join(CONFIGS_BEFORE, name), str(folder / 'config.yaml'))
    if adaptation:
        args = args + ['--snapshot_dir', 'snap']
    result = run_tool(tool, *(args + ['--iterations', 20, '--resume']), env=env,
                      cwd=tmp_path / 'run')
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'Resuming from' in result.stdout


def test_a_run_from_before_vat_is_refused_with_vat_on():
    """The same run asked to resume with --target_vat: both VAT options are named (the run
    had VAT off, so it recorded --vat_radius 0.0)."""
    old = read_yaml(os.path.join(CONFIGS_BEFORE, 'train_adda-afcf216.yaml'))['options']
    new = dict(old, **record(dict(target_vat=1.0)))
    assert setting_differences(old, new) == ['--target_vat: 0.0 -> 1.0',
                                             '--vat_radius: 0.0 -> 2.0']
    assert setting_differences(old, dict(old, **record({}))) == []
