"""tools/export_graph.py: the frozen evaluation graph predicts what the snapshot predicts."""
import numpy as np
import pytest

from conftest import run_tool, write_mnist, write_usps
from helpers_ascend import frozen_predictions, load_frozen, snapshot_predictions

VARIABLE_OPS = {'Variable', 'VariableV2', 'VarHandleOp', 'ReadVariableOp', 'AssignVariableOp',
                'Assign', 'RestoreV2', 'SaveV2'}


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """(data root, snapshot folder) of a LeNet trained briefly on tiny MNIST."""
    base = tmp_path_factory.mktemp('export')
    root = base / 'data'
    write_mnist(str(root / 'mnist'))
    write_usps(str(root / 'usps'))
    env = {'ADDA_DATA_DIR': str(root)}
    result = run_tool('train', 'mnist', 'train', 'lenet', 'lenet_mnist', '--iterations', '40',
                      '--batch_size', '32', '--lr', '1e-3', '--solver', 'adam', '--seed', '0',
                      '--snapshot', '1000', '--device', 'cpu', '--snapshot_dir', base / 'snap',
                      env=env)
    assert result.returncode == 0, result.stderr
    return root, base / 'snap' / 'lenet_mnist'


@pytest.mark.parametrize('dataset', ['mnist', 'usps'])
def test_frozen_graph_predicts_like_the_snapshot(trained, tmp_path, monkeypatch, dataset):
    root, snapshot = trained
    monkeypatch.setenv('ADDA_DATA_DIR', str(root))
    pb = tmp_path / 'models' / 'lenet.pb'
    result = run_tool('export_graph', 'lenet', snapshot, pb, '--batch_size', '10')
    assert result.returncode == 0, result.stderr
    assert 'input_image float32 [10, 28, 28, 1], output output' in result.stdout + result.stderr
    graph_def = load_frozen(pb)
    assert not {node.op for node in graph_def.node} & VARIABLE_OPS
    # Attributes TF 1.15 does not know (TF 2.x writes them with default values) are left out.
    assert all('explicit_paddings' not in node.attr for node in graph_def.node)
    expected, images = snapshot_predictions(dataset, snapshot)
    assert images.shape == (100, 28, 28, 1)
    assert len(set(expected.tolist())) > 1  # a model that predicts something
    got = frozen_predictions(graph_def, images, 10)
    np.testing.assert_array_equal(got, expected)


def test_default_batch_is_one_and_text_output(trained, tmp_path, monkeypatch):
    root, snapshot = trained
    monkeypatch.setenv('ADDA_DATA_DIR', str(root))
    pbtxt = tmp_path / 'lenet.pbtxt'
    result = run_tool('export_graph', 'lenet', snapshot, pbtxt, '--as_text')
    assert result.returncode == 0, result.stderr
    from google.protobuf import text_format
    from adda.compat import tf
    graph_def = text_format.Parse(pbtxt.read_text(), tf.GraphDef())
    expected, images = snapshot_predictions('mnist', snapshot)
    got = frozen_predictions(graph_def, images[:5], 1)
    np.testing.assert_array_equal(got, expected[:5])


def test_missing_weights_is_one_error_line(tmp_path):
    result = run_tool('export_graph', 'lenet', tmp_path / 'none', tmp_path / 'x.pb')
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('Error: weights ') and 'not found' in lines[0]
    assert not (tmp_path / 'x.pb').exists()


def test_unknown_model_is_one_error_line(trained, tmp_path):
    result = run_tool('export_graph', 'resnet', trained[1], tmp_path / 'x.pb')
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: unknown model 'resnet' (known: lenet)"]
