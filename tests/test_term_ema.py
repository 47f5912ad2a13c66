"""--ema (adda/terms/ema.py): a moving average of the target weights, saved as the snapshot."""
import numpy as np

from adda.compat import tf
from adda.terms.ema import MovingAverage
from conftest import run_tool
from adaptation_fixtures import adaptation_settings, run_adaptation


def test_moving_average_update_rule(tf_graph):
    var = tf.get_variable('w', initializer=tf.constant([1.0, 2.0]))
    average = MovingAverage({'w': var}, decay=0.9)
    update = average.update()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        average.reset(sess)
        np.testing.assert_allclose(sess.run(average.shadows['w']), [1.0, 2.0])
        sess.run(var.assign([11.0, 2.0]))
        sess.run(update)
        np.testing.assert_allclose(sess.run(average.shadows['w']), [2.0, 2.0], rtol=1e-6)
        sess.run(update)
        np.testing.assert_allclose(sess.run(average.shadows['w']), [2.9, 2.0], rtol=1e-6)


def test_the_snapshot_is_the_average(data_root):
    """The snapshot saves the shadows under the target's keys; they start at the restored
    weights (after_restore) and follow the trained ones."""
    graph, before, out, after = run_adaptation(adaptation_settings(ema=0.5))
    assert all(np.all(np.isfinite(out[k])) for k in out)
    assert [t.name for t in graph.terms] == ['ema']
    assert all(v.op.name.startswith('ema/') for v in graph.snapshot_vars.values())
    assert sorted(graph.snapshot_vars) == sorted(graph.source_vars)
    assert graph.live_vars is graph.target_vars
    assert [k for k in before if not np.array_equal(before[k], after[k])]


def test_resume_from_an_averaged_snapshot(data_root, tmp_path):
    """Without a training state, --resume_from_snapshot loads the averaged snapshot into the
    target network and starts the average from it."""
    snap = tmp_path / 'snap'
    common = ['--snapshot_dir', snap, '--snapshot', 10, '--batch_size', 16, '--seed', 0]
    result = run_tool('train', 'mnist', 'train', 'lenet', 'src', '--iterations', 10, *common)
    assert result.returncode == 0, result.stderr[-2000:]
    adapt = ['mnist:train', 'usps:train', 'lenet', 'ad', '--weights', snap / 'src',
             '--adversary', 16, '--ema', 0.9] + common
    result = run_tool('train_adda', *(adapt + ['--iterations', 10]))
    assert result.returncode == 0, result.stderr[-2000:]
    for path in (snap / 'ad' / 'state').iterdir():
        path.unlink()
    result = run_tool('train_adda', *(adapt + ['--iterations', 20, '--resume',
                                               '--resume_from_snapshot']))
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'Continuing from the snapshot' in result.stdout + result.stderr
    assert (snap / 'ad' / 'ad-20.index').is_file()
