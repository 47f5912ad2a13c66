"""The task table (adda/tasks.py) is the one list of tasks: the entry points, the docs and the
records agree with it, a run's record is data compared field by field, and a task is one entry
(one registered here runs end to end)."""
import glob
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml

from adda import run as pipeline
from adda.tasks import DEFAULT_TASKS, TASKS, Task
from conftest import ROOT, digit_images

# Runtime-independent: one pass of .ci/run runs it (conftest.belongs_here).
pytestmark = pytest.mark.once

FIXTURES = os.path.join(ROOT, 'tests', 'fixtures', 'run_yaml')


def read(path):
    with open(os.path.join(ROOT, path), encoding='utf-8') as f:
        return f.read()


def test_every_task_has_its_thin_entry_point_and_no_script_is_without_a_task():
    scripts = {os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, 'scripts', '*.sh'))}
    assert scripts - {'reproduce', 'adapt'} == set(TASKS)  # the sweep, the task for a pair
    for name in TASKS:
        text = read('scripts/{}.sh'.format(name))
        assert text.rstrip().endswith('-m adda.run "$(basename "$0" .sh)" "$@"'), name
        assert len(text.splitlines()) <= 5  # everything else is in the table


def test_the_docs_list_the_tables_tasks_and_the_environment():
    readme, sweeps = read('README.md'), read('docs/sweeps.md')
    for name in TASKS:
        assert 'scripts/{}.sh'.format(name) in sweeps, name
        assert '{}.sh'.format(name) in readme, name
    for variable in pipeline.ENVIRONMENT:
        assert '| `{}`'.format(variable) in sweeps, variable
    sweep_help = subprocess.run(['bash', os.path.join(ROOT, 'scripts', 'reproduce.sh'), '-h'],
                                stdout=subprocess.PIPE, universal_newlines=True,
                                env=dict(os.environ, PYTHON=sys.executable)).stdout
    assert ' '.join(TASKS) in sweep_help and ' '.join(DEFAULT_TASKS) in sweep_help


@pytest.mark.parametrize('script, env', [
    ('scripts/reproduce.sh', {}), ('npu_train.sh', {}), ('scripts/slurm/submit.sh', {}),
    ('scripts/usps-mnist.sh', {})])
def test_every_entry_point_answers_help(script, env, tmp_path):
    for flag in ('-h', '--help'):
        result = subprocess.run(['bash', os.path.join(ROOT, script), flag], cwd=str(tmp_path),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                universal_newlines=True, timeout=60,
                                env=dict(os.environ, PYTHON=sys.executable, **env))
        assert result.returncode == 0 and result.stderr == '', result.stderr
        assert 'Usage: ' in result.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize('name', sorted(os.listdir(FIXTURES)))
def test_a_record_of_the_bash_scripts_is_the_same_run(name):
    """run.yaml files written by the bash task scripts (commit 8e6b46f) are, as data, what the
    pipeline records for the same settings: their results folders still count."""
    with open(os.path.join(FIXTURES, name)) as f:
        old = yaml.safe_load(f)
    env = {}
    if name == 'usps-mnist-plus-myrun.yaml':  # made with every setting changed
        env = dict(SEED='3', SOURCE_ITERATIONS='20', ADAPT_ITERATIONS='30', DEVICE='cpu',
                   PRECISION='fp32', TRAIN_ARGS='--steps_per_run 5 --snapshot 10',
                   SNAPSHOT_DIR='/data/snap')
    run = pipeline.Run(TASKS[old['task']], pipeline.settings_of(env),
                       'myrun' if 'myrun' in name else None)
    if old['task'].endswith('-plus'):
        # the -plus tasks run the one recipe since; their older runs are another recipe's, so
        # the pipeline refuses to mix them (they differ in the recipe's settings, nothing else)
        changed = {'mnist-usps-plus': ['adapt_iterations', 'source_args', 'adapt_args'],
                   'usps-mnist-plus': ['source_args']}[old['task']]
        assert [d.split(':')[0] for d in pipeline.record_differences(old, run.record())] == \
            changed
        old = dict(old, **{k: v for k, v in run.record().items() if k in changed})
    assert pipeline.record_differences(old, run.record()) == []
    assert set(old) == set(run.record())
    assert yaml.safe_load(pipeline.dump_record(run.record())) == old


def test_records_are_compared_field_by_field():
    run = pipeline.Run(TASKS['usps-mnist'], pipeline.settings_of({}))
    new = run.record()
    older = {k: v for k, v in new.items() if k != 'select'}  # a field that came later
    assert pipeline.record_differences(older, new) == []
    changed = dict(new, source_iterations=30, task_settings=False)
    assert pipeline.record_differences(changed, new) == [
        'source_iterations: 30 -> 10000', 'task_settings: false -> true']


def test_train_args_keep_quoted_values_whole():
    run = pipeline.Run(TASKS['usps-mnist'], pipeline.settings_of(
        {'TRAIN_ARGS': "--steps_per_run 5 --snapshot_dir 'my snapshots'"}))
    assert run.train_args == ['--steps_per_run', '5', '--snapshot_dir', 'my snapshots']
    with pytest.raises(pipeline.RunError, match='cannot be split into words'):
        pipeline.Run(TASKS['usps-mnist'], pipeline.settings_of({'TRAIN_ARGS': "--x 'open"}))


def test_a_task_is_one_entry(data_root, tmp_path, monkeypatch):
    """A task registered here (USPS -> USPS's own test images: a table entry, nothing else)
    runs end to end through the pipeline: the tools in their own processes, every record."""
    task = Task('usps-usps', 'usps', 'usps', ['--batch_size', '16', '--solver', 'adam'],
                ['--batch_size', '16', '--solver', 'adam', '--adversary', '16'], 'USPS→USPS',
                description='USPS -> USPS (a test task).', source_iterations=3,
                adapt_iterations=3, select=True)
    monkeypatch.setitem(TASKS, task.name, task)
    env = dict(os.environ, PYTHON=sys.executable, SEED='1', RESULTS_DIR=str(tmp_path / 'r'),
               SNAPSHOT_DIR=str(tmp_path / 's'), TRAIN_ARGS='--snapshot 3', DEVICE='cpu')
    assert pipeline.run_task(task, [], env) == 0
    results = tmp_path / 'r' / 'usps-usps-seed1'
    for record in task.records():
        assert (results / (record + '.yaml')).is_file(), record
    written = yaml.safe_load((results / 'run.yaml').read_text())
    assert written['task'] == 'usps-usps' and written['select'] is True
    assert written['source_args'] == '--iterations 3 --batch_size 16 --solver adam'
    config = yaml.safe_load((tmp_path / 's' / 'usps-usps-seed1_adda' / 'config.yaml').read_text())
    assert config['options']['adversary'] == [16] and config['options']['snapshot'] == 3


def write_png_folder(root, name, counts=(120, 40)):
    """A dataset of one's own: <root>/<name>/{train,test}/<digit>/<n>.png, 16x16 grey."""
    from PIL import Image
    for split, n in zip(('train', 'test'), counts):
        labels = np.arange(n) % 10
        for i, (label, image) in enumerate(zip(labels, digit_images(labels, 16, seed=5))):
            folder = root / name / split / str(label)
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.uint8(np.round(image[..., 0] * 255))).save(
                str(folder / '{}.png'.format(i)))


def test_adapt_sh_runs_a_task_for_any_pair_and_the_report_shows_it(data_root, tmp_path):
    """scripts/adapt.sh SOURCE TARGET: the task SOURCE-TARGET from two dataset names (the
    target a folder of PNG images), run end to end by the real entry point; the report names
    it (a run this short is no result)."""
    write_png_folder(data_root, 'pngdigits')
    results = tmp_path / 'r'
    env = dict(os.environ, PYTHON=sys.executable, RESULTS_DIR=str(results),
               SNAPSHOT_DIR=str(tmp_path / 's'), SOURCE_ITERATIONS='3', ADAPT_ITERATIONS='3',
               TRAIN_ARGS='--snapshot 3 --batch_size 16', DEVICE='cpu',
               PYTHONIOENCODING='utf-8')
    script = os.path.join(ROOT, 'scripts', 'adapt.sh')
    result = subprocess.run(['bash', script, 'mnist', 'pngdigits'], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:]
    assert ('==> mnist-pngdigits (mnist-pngdigits-seed0-it3+3): accuracy on pngdigits train / '
            'test') in result.stdout
    run = results / 'mnist-pngdigits-seed0-it3+3'
    record = yaml.safe_load((run / 'run.yaml').read_text())
    assert (record['task'], record['source'], record['target']) == (
        'mnist-pngdigits', 'mnist', 'pngdigits')
    assert yaml.safe_load((run / 'adda_test.yaml').read_text())['images'] == 40
    table = subprocess.run([sys.executable, os.path.join(ROOT, 'tools', 'report.py'),
                            str(results)], stdout=subprocess.PIPE, universal_newlines=True,
                           env=env).stdout
    assert 'mnist-pngdigits-seed0-it3+3 (other settings: source 3 + adaptation 3 iterations' \
        in table
    for args, message in ((['mnist'], 'needs two dataset names'),
                          (['mnist', 'nope'], "unknown dataset 'nope'"),
                          (['usps', 'mnist'], "the table's task usps-mnist")):
        refused = subprocess.run(['bash', script] + args, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, universal_newlines=True)
        assert refused.returncode in (1, 2) and message in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1


def test_the_report_gives_a_pair_task_a_row(tmp_path):
    from adda.tasks import pair_task
    from adda.tools.report import load_runs, markdown_table
    task = pair_task('mnist', 'svhn')
    for seed in (0, 1):
        folder = tmp_path / 'mnist-svhn-seed{}'.format(seed)
        folder.mkdir()
        run = pipeline.Run(task, pipeline.settings_of({'SEED': str(seed)}))
        (folder / 'run.yaml').write_text(pipeline.dump_record(run.record()))
        for name in task.records():
            (folder / (name + '.yaml')).write_text('accuracy: 0.{}\n'.format(5 + seed))
    table = markdown_table(load_runs(str(tmp_path)))
    assert '| mnist→svhn | ADDA | — | 0.550 ± 0.071 | 0.500 | 0.550 ± 0.071 | 2 |' in table
