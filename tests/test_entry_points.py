"""The real entry points: each tool as `python tools/<tool>.py` in a process of its own, once per
exit-status class (0 for --help, 2 for a usage error, 1 for an error in the input), as the shell
sees them. The other tests run the tools in-process (conftest.run_tool), which shares this
code from click's parsing on; the task-script and sweep tests run them as processes too."""
import pytest

from conftest import run_tool_process

# Per tool: the arguments of an input error and the start of its one error line.
INPUT_ERRORS = {
    'train': (['mnsit', 'train', 'lenet', 'x'], "Error: unknown dataset 'mnsit'"),
    'train_adda': (['svhn', 'mnist:train', 'lenet', 'x', '--weights', 'w'],
                   "Error: unexpected source dataset 'svhn'"),
    'eval_classification': (['usps', 'test', 'lenet', '/nowhere'],
                            'Error: weights /nowhere not found'),
    'select_snapshot': (['mnist:train', 'usps:train', 'lenet', '/nowhere'],
                        'Error: /nowhere: no such folder of snapshots'),
    'snapshot_curve': (['usps', 'train', 'lenet', '/nowhere'],
                       'Error: /nowhere: no such folder of snapshots'),
    'export_graph': (['lenet', '/nowhere', 'x.pb'], 'Error: weights /nowhere not found'),
    'report': (['/nowhere'], 'Error: no results folder /nowhere'),
    'benchmark': (['--device', 'gpu', '--steps', '1'], 'Error: --device gpu: TensorFlow sees '
                                                       'no GPU here'),
    'embed': (['mnist:train', 'usps:train', 'lenet', '/nowhere', '--output', 'a.png'],
              'Error: weights /nowhere not found'),
}


@pytest.mark.parametrize('tool', sorted(INPUT_ERRORS))
def test_each_entry_point_answers_help_usage_and_input_errors(tool, data_root, tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    helped = run_tool_process(tool, '--help', cwd=work)
    assert helped.returncode == 0 and helped.stdout.startswith('Usage: '), helped.stderr
    assert helped.stderr == ''

    usage = run_tool_process(tool, '--no_such_option', cwd=work)
    assert usage.returncode == 2
    assert 'No such option' in usage.stderr and '--no_such_option' in usage.stderr
    assert 'Traceback' not in usage.stderr

    args, message = INPUT_ERRORS[tool]
    refused = run_tool_process(tool, *args, cwd=work)
    assert refused.returncode == 1, refused.stdout[-2000:] + refused.stderr[-2000:]
    errors = [line for line in refused.stderr.splitlines() if line.startswith('Error')]
    assert len(errors) == 1 and errors[0].startswith(message), refused.stderr
    assert 'Traceback' not in refused.stderr
    assert list(work.iterdir()) == []  # nothing written where it ran
