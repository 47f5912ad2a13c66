"""The task scripts take options like the tools: -h/--help prints usage; an unknown option, a
run name that starts with '-' or a second name is refused with one line, and nothing runs."""
import os
import subprocess
import sys

import pytest

from conftest import ROOT

# Runtime-independent: one pass of .ci/run runs it (conftest.belongs_here).
pytestmark = pytest.mark.once

SCRIPTS = ('mnist-usps', 'usps-mnist', 'svhn-mnist', 'mnist-usps-plus', 'usps-mnist-plus')


def run_script(task, *args, tmp_path):
    env = dict(os.environ, RESULTS_DIR=str(tmp_path / 'results'),
               SNAPSHOT_DIR=str(tmp_path / 'snap'), PYTHON=sys.executable)
    return subprocess.run(['bash', os.path.join(ROOT, 'scripts', task + '.sh')] + list(args),
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=120)


@pytest.mark.parametrize('task', SCRIPTS)
@pytest.mark.parametrize('flag', ['-h', '--help'])
def test_help_prints_the_usage_and_runs_nothing(task, flag, tmp_path):
    result = run_script(task, flag, tmp_path=tmp_path)
    assert result.returncode == 0 and result.stderr == ''
    assert 'Usage: [SEED=0] bash scripts/{}.sh [PREFIX]'.format(task) in result.stdout
    assert not (tmp_path / 'results').exists() and not (tmp_path / 'snap').exists()


@pytest.mark.parametrize('args, message', [
    (['--bogus'], 'Error: unknown option --bogus (usage: bash '),
    (['-x'], 'Error: unknown option -x (usage: bash '),
    (['one', 'two'], 'Error: one run name at most, got 2 arguments: one two'),
])
def test_bad_arguments_are_refused_with_one_line(args, message, tmp_path):
    result = run_script('usps-mnist', *args, tmp_path=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr
    assert result.stdout == ''
    assert not (tmp_path / 'results').exists() and not (tmp_path / 'snap').exists()


def test_the_slurm_test_installs_nothing(monkeypatch):
    """Without Slurm, the cluster test's check says what is missing and runs no command (it
    used to apt-get install Slurm and MUNGE)."""
    import shutil
    import slurm_fixtures
    ran = []
    monkeypatch.setattr(shutil, 'which', lambda name: None)
    monkeypatch.setattr(subprocess, 'run', lambda *a, **k: ran.append(a))
    monkeypatch.setattr(subprocess, 'Popen', lambda *a, **k: ran.append(a))
    reason = slurm_fixtures.slurm_missing()
    assert reason.startswith('Slurm and MUNGE are not installed (missing munged, slurmctld')
    assert 'apt-get install munge slurmctld slurmd slurm-client' in reason
    assert ran == []
