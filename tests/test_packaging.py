"""What an installed user gets: pyproject's console scripts, its dependencies, the wheel's
contents, and TensorBoard summaries a training run writes."""
import configparser
import importlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT, run_tool

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

# The console scripts; others may be declared too.
EXPECTED_SCRIPTS = {'adda-train': 'train', 'adda-train-adda': 'train_adda',
                    'adda-eval': 'eval_classification', 'adda-export': 'export_graph',
                    'adda-report': 'report', 'adda-benchmark': 'benchmark'}


def pyproject():
    with open(os.path.join(ROOT, 'pyproject.toml'), 'rb') as f:
        return tomllib.load(f)


def console_scripts():
    """script name -> (module, attribute), as pyproject declares them."""
    scripts = {}
    for name, target in pyproject()['project']['scripts'].items():
        module, _, attribute = target.partition(':')
        scripts[name] = (module.strip(), attribute.strip())
    return scripts


def load_shim(tool, monkeypatch):
    """Import tools/<tool>.py as ``python tools/<tool>.py`` would, under a private name."""
    monkeypatch.syspath_prepend(os.path.join(ROOT, 'tools'))
    spec = importlib.util.spec_from_file_location('shim_' + tool,
                                                  os.path.join(ROOT, 'tools', tool + '.py'))
    shim = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shim)
    return shim


def test_console_scripts_are_the_tools_commands(monkeypatch):
    import click
    scripts = console_scripts()
    for name, tool in EXPECTED_SCRIPTS.items():
        assert scripts.get(name) == ('adda.tools.' + tool, 'main'), name
    for name, (module, attribute) in scripts.items():
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command), name
        tool = module.rpartition('.')[2]
        assert os.access(os.path.join(ROOT, 'tools', tool + '.py'), os.X_OK), name
        assert load_shim(tool, monkeypatch).main is command, name


def requirement_lines(path):
    lines = []
    with open(path) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line and not line.startswith('-'):
                lines.append(line)
    return lines


def normalized(requirement):
    return re.sub(r'\s+', '', requirement).replace("'", '"')


def test_dependencies_match_requirements_txt():
    declared = [normalized(r) for r in pyproject()['project']['dependencies']]
    required = [normalized(r) for r in requirement_lines(os.path.join(ROOT, 'requirements.txt'))]
    assert sorted(declared) == sorted(required)
    assert any(r.startswith('tensorboard') and 'python_version>="3.8"' in r for r in declared)


def test_wheel_holds_the_package_its_data_and_scripts(tmp_path):
    """Build a wheel from a copy of the sources (offline, with the installed setuptools) and
    run a tool from it outside the repository."""
    setuptools = pytest.importorskip('setuptools')
    if int(setuptools.__version__.split('.')[0]) < 64:
        pytest.skip('building needs setuptools >= 64 (pip fetches it when online)')
    source = tmp_path / 'src'
    source.mkdir()
    for name in ('pyproject.toml', 'README.md'):
        shutil.copy(os.path.join(ROOT, name), str(source / name))
    shutil.copytree(os.path.join(ROOT, 'adda'), str(source / 'adda'),
                    ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    built = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
                            '--no-build-isolation', '-w', str(tmp_path / 'dist'), str(source)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
    assert built.returncode == 0, built.stderr
    wheel, = (tmp_path / 'dist').glob('adda-*.whl')
    with zipfile.ZipFile(str(wheel)) as archive:
        names = archive.namelist()
        entry_points, = [n for n in names if n.endswith('.dist-info/entry_points.txt')]
        parser = configparser.ConfigParser()
        parser.read_string(archive.read(entry_points).decode('utf-8'))
        archive.extractall(str(tmp_path / 'site'))
    assert 'adda/logging.yaml' in names
    assert 'adda/tools/train.py' in names and 'adda/data/mnist.py' in names
    assert not [n for n in names if n.startswith(('tests/', 'tools/', 'scripts/'))]
    declared = {name: '{}:{}'.format(*target) for name, target in console_scripts().items()}
    assert dict(parser['console_scripts']) == declared
    # The unpacked wheel alone (no repository on the path) runs a tool and finds its data file.
    env = dict(os.environ, PYTHONPATH=str(tmp_path / 'site'))
    code = ('import adda, adda.util; adda.util.config_logging(); print(adda.__file__); '
            'from adda.tools.report import main; main(["--help"])')
    run = subprocess.run([sys.executable, '-c', code], cwd=str(tmp_path), env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(str(tmp_path / 'site' / 'adda'))
    assert 'RESULTS_DIR' in run.stdout


def scalars(folder):
    """tag -> [(step, value)] from the TensorBoard event files in folder."""
    from adda.compat import tf
    found = {}
    for path in sorted(os.listdir(str(folder))):
        if path.startswith('events.out.tfevents'):
            for event in tf.train.summary_iterator(str(folder / path)):
                for value in event.summary.value:
                    found.setdefault(value.tag, []).append((event.step, value.simple_value))
    return found


def logged_losses(log_file):
    """iteration -> the losses a train.log line shows for it."""
    losses = {}
    with open(str(log_file)) as f:
        for line in f:
            match = re.search(r'Iteration (\d+):(.*)', line)
            if match:
                values = re.findall(r'(-?\d+\.\d+)\s+\(avg', match.group(2))
                losses[int(match.group(1))] = [float(v) for v in values]
    return losses


def test_training_summaries_read_back(data_root, tmp_path):
    snap = tmp_path / 'snap'
    result = run_tool('train', 'mnist', 'train', 'lenet', 'src', '--iterations', 12,
                      '--display', 5, '--lr', '1e-3', '--stepsize', 10, '--solver', 'adam',
                      '--batch_size', 16, '--snapshot_dir', snap, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    found = scalars(snap / 'src')
    assert sorted(found) == ['learning_rate', 'loss/loss']
    assert [s for s, _ in found['loss/loss']] == [0, 5, 10]
    assert found['learning_rate'] == [(0, pytest.approx(1e-3)), (5, pytest.approx(1e-3)),
                                      (10, pytest.approx(1e-4))]
    logged = logged_losses(snap / 'src' / 'train.log')
    for step, value in found['loss/loss']:
        assert value == pytest.approx(logged[step][0], abs=1e-4)

    result = run_tool('train_adda', 'mnist:train', 'usps:train', 'lenet', 'ad', '--weights',
                      snap / 'src', '--iterations', 6, '--display', 5, '--batch_size', 16,
                      '--snapshot_dir', snap, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    found = scalars(snap / 'ad')
    assert sorted(found) == ['learning_rate', 'loss/adversary_loss', 'loss/mapping_loss']
    logged = logged_losses(snap / 'ad' / 'train.log')
    for i, tag in enumerate(['loss/mapping_loss', 'loss/adversary_loss']):
        assert [s for s, _ in found[tag]] == [0, 5]
        for step, value in found[tag]:
            assert value == pytest.approx(logged[step][i], abs=1e-4)


def _requirement_lines(name):
    with open(os.path.join(ROOT, name)) as f:
        return [l.strip() for l in f if l.strip() and not l.startswith('#')]


def test_gpu_requirements_swap_only_tensorflow():
    """requirements-gpu.txt: requirements.txt with TensorFlow's CUDA build instead of the CPU
    build, nothing else changed."""
    plain, gpu = _requirement_lines('requirements.txt'), _requirement_lines('requirements-gpu.txt')
    tensorflow = re.compile(r'^tensorflow(-cpu)?(\[.*\])?[<>=]')
    assert [l for l in plain if not tensorflow.match(l)] == [l for l in gpu if not tensorflow.match(l)]
    (cuda,) = [l for l in gpu if tensorflow.match(l)]
    assert cuda.startswith('tensorflow[and-cuda]>=') and 'tensorflow-cpu' not in ' '.join(gpu)


def _index_reachable():
    import urllib.request
    try:
        urllib.request.urlopen('https://pypi.org/simple/tensorflow/', timeout=10).close()
        return True
    except Exception:
        return False


@pytest.mark.skipif(sys.version_info < (3, 9), reason='TensorFlow with CUDA needs Python 3.9+')
def test_gpu_requirements_resolve(tmp_path):
    """pip resolves requirements-gpu.txt (a dry run: metadata only, no GPU wheel installed)."""
    if not sys.platform.startswith('linux'):
        pytest.skip('the CUDA build of TensorFlow is for Linux')
    if not _index_reachable():
        pytest.skip('the package index (pypi.org) is not reachable from here')
    report = tmp_path / 'report.json'
    result = subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--dry-run', '--ignore-installed', '--quiet',
         '--disable-pip-version-check', '--report', str(report), '-r',
         os.path.join(ROOT, 'requirements-gpu.txt')],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:]
    import json
    names = {item['metadata']['name'].lower() for item in
             json.loads(report.read_text())['install']}
    assert 'tensorflow' in names and 'tensorflow-cpu' not in names
    assert any(name.startswith('nvidia-cudnn') for name in names)
