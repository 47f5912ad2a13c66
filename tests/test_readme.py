"""The README's commands run as written: the blocks marked `<!-- README test: run -->` are run
in a copy of the checkout (with the datasets of ADDA_DATA_DIR, else small generated ones);
every other command block names scripts and tools that exist and is valid shell."""
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, SHARED_DATA, require, write_mnist, write_usps

# Runtime-independent: one pass of .ci/run runs it (conftest.belongs_here).
pytestmark = pytest.mark.once

MARK = '<!-- README test: run -->'


def code_blocks(text):
    """[(marked, [lines])] of the README's indented code blocks, in order; a block is marked
    when the last non-blank line before it is MARK."""
    blocks, previous = [], ''
    for line in text.splitlines():
        if line.startswith('    ') and line.strip():
            if blocks and blocks[-1][2]:  # the block goes on
                blocks[-1][1].append(line[4:])
            else:
                blocks.append([previous.strip() == MARK, [line[4:]], True])
            continue
        if line.strip():
            previous = line
            if blocks:
                blocks[-1][2] = False
    return [(marked, lines) for marked, lines, _ in blocks]


def readme_blocks():
    with open(os.path.join(ROOT, 'README.md'), encoding='utf-8') as f:
        return code_blocks(f.read())


def shell_blocks():
    """Blocks of commands (not of program output or BibTeX)."""
    return [(marked, lines) for marked, lines in readme_blocks()
            if re.match(r'^([A-Z_]+=\S+ )*(python|python3|bash|\.venv|tensorboard)\b', lines[0])]


def test_the_readme_marks_commands_to_run():
    marked = [lines for is_marked, lines in shell_blocks() if is_marked]
    assert marked and any('scripts/usps-mnist.sh' in line for lines in marked for line in lines)


@pytest.mark.parametrize('index', range(len(shell_blocks())))
def test_every_command_block_names_what_exists(index):
    _, lines = shell_blocks()[index]
    script = '\n'.join(lines)
    assert subprocess.run(['bash', '-n', '-c', script]).returncode == 0, script
    for path in re.findall(r'(?:scripts|tools|test)/[\w./-]+\.(?:sh|py)', script):
        assert os.path.isfile(os.path.join(ROOT, path)), path
    for path in re.findall(r'-r (requirements[\w-]*\.txt)', script):
        assert os.path.isfile(os.path.join(ROOT, path)), path


def copy_checkout(target):
    """The checkout's files as a clone would have them (tracked and not ignored)."""
    listed = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard'], cwd=ROOT,
                            stdout=subprocess.PIPE, universal_newlines=True, check=True)
    for name in listed.stdout.splitlines():
        source = os.path.join(ROOT, name)
        if os.path.isfile(source):
            os.makedirs(os.path.join(str(target), os.path.dirname(name)), exist_ok=True)
            shutil.copy2(source, os.path.join(str(target), name))


def test_the_marked_commands_run_as_written(tmp_path):
    require(shutil.which('git') and os.path.isdir(os.path.join(ROOT, '.git')),
            'needs the git checkout to copy')
    clone = tmp_path / 'adda'
    copy_checkout(clone)
    data = os.environ.get('ADDA_DATA_DIR') or SHARED_DATA
    if not os.path.isdir(os.path.join(data, 'mnist')) or not os.path.isdir(
            os.path.join(data, 'usps')):
        data = str(tmp_path / 'data')
        write_mnist(os.path.join(data, 'mnist'), counts=(2000, 100))
        write_usps(os.path.join(data, 'usps'), counts=(1800, 100))
    bin_dir = os.path.dirname(sys.executable)
    env = dict(os.environ, ADDA_DATA_DIR=data, PATH=bin_dir + os.pathsep + os.environ['PATH'],
               PYTHONIOENCODING='utf-8')
    for name in ('SEED', 'PREFIX', 'RESULTS_DIR', 'SNAPSHOT_DIR', 'TRAIN_ARGS', 'DEVICE',
                 'SOURCE_ITERATIONS', 'ADAPT_ITERATIONS', 'PYTHON'):
        env.pop(name, None)
    for _, lines in [block for block in shell_blocks() if block[0]]:
        for line in lines:
            result = subprocess.run(['bash', '-c', line], cwd=str(clone), env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    universal_newlines=True, timeout=1500)
            assert result.returncode == 0, (line, result.stdout[-3000:])
            if 'usps-mnist.sh' in line and 'ITERATIONS' in line:
                assert (clone / 'results' / 'usps-mnist-seed0-it300+300' /
                        'adda_train.yaml').is_file()
            if 'report.py' in line:  # --all: the smoke run in rows of its own, marked
                assert '| USPS→MNIST (short run: 300+300 iterations) | ADDA | — | ' in \
                    result.stdout
            if '--help' in line:
                assert result.stdout.startswith('USPS -> MNIST')
