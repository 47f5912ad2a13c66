"""tools/embed.py: the t-SNE picture of source and target features, per snapshot."""
import numpy as np
import yaml

from conftest import run_tool

TRAIN = ['--batch_size', 16, '--seed', 0, '--solver', 'adam', '--lr', 1e-3]


def test_embedding_of_the_source_and_the_adapted_model(data_root, tmp_path):
    snap = tmp_path / 'snap'
    assert run_tool('train', 'mnist', 'train', 'lenet', 'src', '--iterations', 20,
                    '--snapshot_dir', snap, *TRAIN).returncode == 0
    assert run_tool('train_adda', 'mnist:train', 'usps:train', 'lenet', 'ad', '--weights',
                    snap / 'src', '--iterations', 10, '--adversary', 16, '--snapshot_dir', snap,
                    *TRAIN).returncode == 0
    picture, points = tmp_path / 'embed.png', tmp_path / 'points.yaml'
    result = run_tool('embed', 'mnist:train', 'usps:train', 'lenet', snap / 'src', snap / 'ad',
                      '--output', picture, '--points', points, '--images', 50,
                      '--title', 'source model', '--title', 'adapted')
    assert result.returncode == 0, result.stderr[-2000:]
    assert picture.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    record = yaml.safe_load(points.read_text())
    assert record['layer'] == 'fc3'
    assert record['domains'] == ['source'] * 50 + ['target'] * 50
    assert len(record['classes']) == 100 and set(record['classes']) <= set(range(10))
    assert [p['title'] for p in record['panels']] == ['source model', 'adapted']
    assert [len(p['points']) for p in record['panels']] == [100, 100]
    assert all(len(xy) == 2 for xy in record['panels'][1]['points'])
    assert record['panels'][0]['points'] != record['panels'][1]['points']
    # the picture keeps the features' structure: in each panel a source image's nearest
    # neighbour in the plane is mostly of its class (chance: 0.1; the tiny digits are easy)
    for panel in record['panels']:
        assert nearest_neighbour_agreement(panel['points'][:50], record['classes'][:50]) > 0.6


def nearest_neighbour_agreement(points, classes):
    """The fraction of points whose nearest other point has the same class."""
    xy, classes = np.array(points), np.array(classes)
    distances = ((xy[:, None] - xy[None]) ** 2).sum(-1)
    np.fill_diagonal(distances, np.inf)
    return float(np.mean(classes[distances.argmin(1)] == classes))


def test_embedding_errors_are_one_line(data_root, tmp_path):
    cases = [
        (['mnist:train', 'usps:train', 'lenet', tmp_path / 'none', '--output', tmp_path / 'a.png'],
         1, 'Error: weights {} not found'.format(tmp_path / 'none')),
        (['mnist:train', 'usps:train', 'lenet', tmp_path, '--output', tmp_path / 'a.png',
          '--title', 'x', '--title', 'y'], 1, 'Error: 2 --title for 1 WEIGHTS'),
        (['mnist:train', 'usps:train', 'lenet', tmp_path, '--output', tmp_path / 'a.png',
          '--layer', 'fc9'], 2, "Invalid value for '--layer'"),
        (['mnist:train', 'usps:train', 'lenet', tmp_path], 2, "Missing option '--output'"),
    ]
    for args, status, message in cases:
        result = run_tool('embed', *args)
        assert result.returncode == status, result.stderr
        assert message in result.stderr, result.stderr
        if status == 1:
            assert len(result.stderr.strip().splitlines()) == 1
        assert not (tmp_path / 'a.png').exists()
