"""The settings of the entry points (adda/environment.py), each declared once and checked before
anything is written or trained: one 'Error:' line naming the setting, its value and what is
allowed, exit status 2, nothing left behind. Old names are still accepted. A finished run is
not evaluated again; the report shows short runs on demand."""
import os
import subprocess
import sys

import pytest
import yaml

from adda import environment, run as pipeline
from adda.pipeline import predictions_path
from adda.tasks import TASKS, pair_task
from conftest import ROOT

# Runtime-independent: one pass of .ci/run runs it (conftest.belongs_here).
pytestmark = pytest.mark.once

# An interpreter for the tools that fails at once: a run that gets past its checks stops at
# its first tool instead of training.
FAILING_TOOLS = '/bin/false'


def settings_env(tmp_path, **settings):
    env = {k: v for k, v in os.environ.items()
           if k not in environment.SETTINGS and k != 'DESCRIBE_RUN' and
           not any(k in s.old for s in environment.SETTINGS.values())}
    env.update(RESULTS_DIR=str(tmp_path / 'results'), SNAPSHOT_DIR=str(tmp_path / 'snap'),
               PYTHON=FAILING_TOOLS, **settings)
    return env


def run_main(argv, env, monkeypatch, capsys):
    """adda.run's entry point in this process: (exit status, stdout, stderr lines)."""
    monkeypatch.setattr(os, 'environ', dict(env))
    monkeypatch.chdir(ROOT)
    status = pipeline.main(argv)
    out, err = capsys.readouterr()
    return status, out, err.strip().splitlines()


def left_nothing(tmp_path):
    return not (tmp_path / 'results').exists() and not (tmp_path / 'snap').exists()


def test_a_bad_iteration_count_is_one_line_not_a_traceback(tmp_path):
    """SOURCE_ITERATIONS=3OO (letters O): a traceback before; one line, status 2 now."""
    result = subprocess.run(['bash', os.path.join(ROOT, 'scripts', 'adapt.sh'), 'mnist2000',
                             'usps1800'], env=dict(settings_env(tmp_path, SOURCE_ITERATIONS='3OO'),
                                                   PYTHON=sys.executable),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "Error: SOURCE_ITERATIONS=3OO is not a whole number of at least 1 (empty: the task's)"]
    assert result.stdout == '' and left_nothing(tmp_path)


@pytest.mark.parametrize('argv, settings, line', [
    (['usps-mnist'], {'SOURCE_ITERATIONS': '0'},
     "SOURCE_ITERATIONS=0 is not a whole number of at least 1 (empty: the task's)"),
    (['usps-mnist'], {'ADAPT_ITERATIONS': '-5'},
     "ADAPT_ITERATIONS=-5 is not a whole number of at least 1 (empty: the task's)"),
    (['--pair', 'mnist', 'usps'], {'RECIPE': 'yes'}, 'RECIPE=yes is not one of 0, 1 (empty: 0)'),
    (['usps-mnist'], {'DEVICE': 'tpu'},
     'DEVICE=tpu is not one of auto, cpu, gpu, npu (empty: auto)'),
    (['usps-mnist'], {'ADDA_DEVICE': 'tpu'},
     'ADDA_DEVICE=tpu is not one of auto, cpu, gpu, npu (empty: auto)'),
    (['usps-mnist'], {'DEVICE': 'cpu', 'ADDA_DEVICE': 'npu'},
     'DEVICE=cpu and ADDA_DEVICE=npu differ: ADDA_DEVICE is the old name of DEVICE; set one of '
     'them'),
    (['usps-mnist'], {'DEVICE': 'cpu', 'PRECISION': 'mixed'},
     'PRECISION=mixed is not possible with DEVICE=cpu (allowed there: fp32, or empty)'),
    (['usps-mnist'], {'SEED': '1.5'}, 'SEED=1.5 is not a whole number from 0 to 4294967293 '
                                      '(empty: 0)'),
    (['usps-mnist'], {'SKIP_FINISHED': 'yes'}, 'SKIP_FINISHED=yes is not one of 0, 1 (empty: 1)'),
    (['usps-mnist'], {'RUN_LOCK': 'later'}, 'RUN_LOCK=later is not one of fail, wait (empty: '
                                            'fail)'),
    (['usps-mnist'], {'PREFIX': '../up'}, 'PREFIX=../up is not a plain name (not . or .., '
                                          'without /, not starting with -) (empty: '
                                          '<task>-seed<SEED>)'),
    (['usps-mnist'], {'TRAIN_ARGS': "--x 'open"}, "TRAIN_ARGS=\"--x 'open\" cannot be split "
                                                  'into words (allowed: options as the shell '
                                                  'splits words (every quote closed) (empty: '
                                                  'none))'),
    (['usps-mnist'], {'PIN_DEVICE': 'first'}, 'PIN_DEVICE=first is not a device id (0, 1, ...) '
                                              'or CPU cores in taskset syntax (3, 0-3, 0,2) '
                                              '(empty: not pinned)'),
])
def test_a_setting_not_allowed_is_one_line_and_leaves_nothing(argv, settings, line, tmp_path,
                                                               monkeypatch, capsys):
    status, out, err = run_main(argv, settings_env(tmp_path, **settings), monkeypatch, capsys)
    assert (status, err) == (2, ['Error: ' + line])
    assert out == '' and left_nothing(tmp_path)


def test_a_refused_device_leaves_no_record_to_refuse_the_corrected_command(
        data_root, tmp_path, monkeypatch, capsys):
    """DEVICE=tpu used to fail in the first tool after run.yaml was written; the corrected
    command was then refused ('holds a run made with other settings ... device: tpu ->
    auto')."""
    pair = ['--pair', 'usps', 'svhn']
    status, _, _ = run_main(pair, settings_env(tmp_path, DEVICE='tpu'), monkeypatch, capsys)
    assert status == 2 and left_nothing(tmp_path)
    status, out, err = run_main(pair, settings_env(tmp_path), monkeypatch, capsys)
    assert 'other settings' not in '\n'.join(err)
    assert status == 1 and 'Training the source model' in out, err  # its first tool: false


def test_old_names_are_still_accepted_and_recorded_under_the_new(tmp_path, monkeypatch, capsys):
    env = settings_env(tmp_path, ADDA_DEVICE='cpu', ADDA_PRECISION='fp32', DESCRIBE_RUN='1')
    status, out, _ = run_main(['usps-mnist'], env, monkeypatch, capsys)
    record = yaml.safe_load(out)
    assert status == 0 and (record['device'], record['precision']) == ('cpu', 'fp32')
    values = environment.read(environment.NPU_TRAIN, {'ADDA_TASKS': 'usps-mnist',
                                                      'TASKS': 'usps-mnist'})
    assert values['TASKS'] == 'usps-mnist' and values['DEVICE'] == 'auto'
    assert environment.normalized({'ADDA_DEVICE': 'npu', 'X': '1'}, ['DEVICE']) == {
        'DEVICE': 'npu', 'X': '1'}


def test_npu_train_takes_the_settings_names_and_refuses_two_that_differ(tmp_path):
    env = dict(settings_env(tmp_path, DEVICE='cpu', ADDA_DEVICE='npu'), PYTHON=sys.executable)
    result = subprocess.run(['bash', os.path.join(ROOT, 'npu_train.sh'), ROOT,
                             str(tmp_path / 'work')], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
    assert result.returncode == 2 and result.stderr.splitlines() == [
        'Error: DEVICE=cpu and ADDA_DEVICE=npu differ: ADDA_DEVICE is the old name of DEVICE; '
        'set one of them']
    assert not (tmp_path / 'work').exists()
    help_text = subprocess.run(['bash', os.path.join(ROOT, 'npu_train.sh'), '--help'],
                               stdout=subprocess.PIPE, universal_newlines=True).stdout
    help_text = ' '.join(help_text.split())
    for name, old in (('DEVICE', 'ADDA_DEVICE'), ('PRECISION', 'ADDA_PRECISION'),
                      ('TASKS', 'ADDA_TASKS')):
        assert name in help_text and 'old name {}, still accepted'.format(old) in help_text


def test_every_entry_point_lists_what_it_reads_and_every_default():
    for names in environment.ENTRIES.values():
        text = ' '.join(' '.join(environment.environment_help(names)).split())
        assert text.count('[default: ') == len(names), names
    sweep = subprocess.run(['bash', os.path.join(ROOT, 'scripts', 'reproduce.sh'), '--help'],
                           stdout=subprocess.PIPE, universal_newlines=True,
                           env=dict(os.environ, PYTHON=sys.executable)).stdout
    settings = sweep.split('Settings, through the environment')[1]
    listed = [line.split()[0] for line in settings.splitlines() if line.startswith('  ') and
              line.split() and line.split()[0].isupper()]
    assert 'SEED' not in listed and 'SEEDS' in listed  # the sweep sets each run's seed
    assert listed == [name for name in environment.SWEEP]


def test_adapt_sh_help_names_the_datasets_and_every_default(data_root):
    (data_root / 'mydigits' / 'train' / '0').mkdir(parents=True)
    text = pipeline.usage(pair_task('SOURCE', 'TARGET'))
    assert 'mnist, mnist2000, svhn, usps, usps1800' in text
    assert 'mydigits' in text.replace('\n  ', ' ')
    assert 'ADAPT_ITERATIONS   adaptation\'s iterations [default: 10000; 6000 with RECIPE=1]' \
        in text
    for name in environment.PAIR:
        assert '  {} '.format(name) in text
    assert ' '.join(text.split()).count('[default: ') == len(environment.PAIR)


def finished_run(tmp_path, env, task='usps-mnist'):
    """A results folder holding the run ``env`` makes, finished: run.yaml and every record."""
    run = pipeline.Run(TASKS[task], environment.read(environment.RUN, env))
    os.makedirs(run.results)
    pipeline.write_record(run)
    for name in run.task.records():
        with open(os.path.join(run.results, name + '.yaml'), 'w') as f:
            f.write('accuracy: 0.{}\n'.format(len(name)))
    for split in run.task.protocol.splits:  # the reported model's predictions
        with open(predictions_path(run, split), "w") as f:
            f.write('index,class,probability\n')
    return run


def test_a_finished_run_is_neither_trained_nor_evaluated_again(tmp_path, monkeypatch, capsys):
    """The rerun of a finished run used to train nothing but evaluate four times; now it says
    so in one line and prints the summary from the records (the tools never start: they would
    fail here)."""
    env = settings_env(tmp_path)
    run = finished_run(tmp_path, env)
    status, out, err = run_main(['usps-mnist'], env, monkeypatch, capsys)
    assert (status, err) == (0, [])
    assert out.splitlines()[1:] == [
        '==> usps-mnist-seed0: finished earlier with these settings, skipping (nothing to train '
        'or evaluate; SKIP_FINISHED=0 evaluates it again)', '',
        '==> usps-mnist (usps-mnist-seed0): accuracy on mnist2000 train / test, from its '
        'records', 'Source only: 0.1700 / 0.1600', 'ADDA:        0.1000 / 0.9000']
    # SKIP_FINISHED=0: evaluated again (the first tool starts: here it fails)
    status, out, _ = run_main(['usps-mnist'], dict(env, SKIP_FINISHED='0'), monkeypatch, capsys)
    assert status == 1 and 'finished earlier' not in out
    # a record missing or damaged: not finished
    with open(os.path.join(run.results, 'adda_test.yaml'), 'w') as f:
        f.write('accur')
    status, out, _ = run_main(['usps-mnist'], env, monkeypatch, capsys)
    assert status == 1 and 'finished earlier' not in out


def test_a_run_finished_while_waiting_for_its_lock_is_skipped(tmp_path, monkeypatch, capsys):
    """Two sweeps on the same folders: the run one waits for (RUN_LOCK=wait) is made and
    finished by the other meanwhile; once it has the lock, it reads the record again and
    finds it finished."""
    env = settings_env(tmp_path, RUN_LOCK='wait')
    real_lock = pipeline.lock

    def lock_once_the_other_has_finished(*args):
        finished_run(tmp_path, env)  # what the process that held the lock did
        return real_lock(*args)
    monkeypatch.setattr(pipeline, 'lock', lock_once_the_other_has_finished)
    status, out, err = run_main(['usps-mnist'], env, monkeypatch, capsys)
    assert (status, err) == (0, []) and 'finished earlier with these settings' in out


def short_run(results, task, seed, accuracy, **settings):
    env = dict(SEED=str(seed), SOURCE_ITERATIONS='300', ADAPT_ITERATIONS='300',
               RESULTS_DIR=str(results), **settings)
    run = pipeline.Run(TASKS[task], environment.read(environment.RUN, env))
    os.makedirs(run.results)
    pipeline.write_record(run)
    for name in run.task.records():
        with open(os.path.join(run.results, name + '.yaml'), 'w') as f:
            f.write('accuracy: {}\n'.format(accuracy))
    return run


def test_the_report_shows_short_runs_with_all_marked_and_apart(tmp_path):
    from conftest import run_tool
    results = tmp_path / 'results'
    for seed in (0, 1):
        finished_run(tmp_path, {'SEED': str(seed), 'RESULTS_DIR': str(results)})
        short_run(results, 'usps-mnist', seed, 0.3 + seed / 10)
    short_run(results, 'mnist-usps', 0, 0.2, TRAIN_ARGS='--batch_size 32')
    plain = run_tool('report', results)
    assert plain.returncode == 0, plain.stderr
    assert 'short run' not in plain.stdout
    assert 'usps-mnist-seed0-it300+300 (other settings: source 300 + adaptation 300 ' \
        'iterations)' in plain.stdout
    every = run_tool('report', results, '--all', '--png', tmp_path / 'chart.png')
    assert every.returncode == 0, every.stderr
    lines = every.stdout.splitlines()
    assert '| USPS→MNIST | ADDA | 0.901 ± 0.008 | 0.100 ± 0.000 | 0.100 | 0.900 ± 0.000 | 2 |' \
        in lines
    assert ('| USPS→MNIST (short run: 300+300 iterations) | ADDA | — | 0.350 ± 0.071 | 0.300 | '
            '0.350 ± 0.071 | 2 |') in lines
    assert ('| MNIST→USPS (other settings: 300+300 iterations, TRAIN_ARGS --batch_size 32) | '
            'ADDA | — | 0.200 (1 run) | 0.200 | 0.200 (1 run) | 1 |') in lines
    assert not any(line.startswith('Not in the table') for line in lines)
    pytest.importorskip('matplotlib')
    from adda.tools import report
    train, _ = report.chart(report.load_runs(str(results), other=True)).axes
    ticks = [t.get_text() for t in train.get_xticklabels()]
    assert 'USPS→MNIST\n(2 runs)' in ticks and 'USPS→MNIST\nshort: 300+300\n(2 runs)' in ticks
