"""--pseudo_teacher (adda/terms/teacher.py): pseudo-labels from a moving average of the target
weights instead of the target network itself."""
import numpy as np

from adda.terms import switched_on
from adda.tools.train_adda import Settings
from adaptation_fixtures import adaptation_settings, run_adaptation

RECIPE_LIKE = dict(target_pseudo=1.0, pseudo_threshold=0.0, pseudo_neighbours=3)


def _run(steps=4, **values):
    found = {}
    graph, before, out, after = run_adaptation(
        adaptation_settings(**dict(RECIPE_LIKE, **values)), steps=steps, fetch_globals=found)
    return graph, before, out, after, found


def test_the_teacher_is_on_only_with_pseudo_labels():
    assert [t.name for t in switched_on(Settings(pseudo_teacher=0.9))] == []
    assert [t.name for t in switched_on(Settings(target_pseudo=1.0, pseudo_teacher=0.9))] == [
        'pseudo', 'teacher']


def test_a_teacher_that_forgets_at_once_is_the_network_itself(data_root):
    """With a decay of almost 0 the average is the target network's weights after each update,
    so the labels are the network's own: the same run as without the teacher, step by step
    (the teacher's pass and the neighbour bank's inputs are wired in its place)."""
    _, _, plain, plain_after, plain_globals = _run()
    graph, _, taught, taught_after, taught_globals = _run(pseudo_teacher=1e-9)
    assert [t.name for t in graph.terms] == ['pseudo', 'teacher', 'neighbours']
    for name in plain:
        np.testing.assert_allclose(taught[name], plain[name], rtol=1e-4, atol=1e-6)
    for name in plain_after:
        np.testing.assert_allclose(taught_after[name], plain_after[name], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(taught_globals['teacher/' + name], plain_after[name],
                                   rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(taught_globals['neighbours/probs'],
                               plain_globals['neighbours/probs'], rtol=1e-4, atol=1e-6)


def test_a_slow_teacher_keeps_the_source_model_s_labels(data_root):
    """With a decay of almost 1 the teacher stays at the starting (source) weights while the
    network moves; the bank then holds the source model's predictions, so the training differs
    from the run that learns its own labels. The snapshot is the network, not the teacher."""
    _, _, plain, _, plain_globals = _run()
    graph, before, taught, after, found = _run(pseudo_teacher=1.0 - 1e-7)
    assert graph.snapshot_vars is graph.target_vars
    moved = [name for name in before if not np.allclose(before[name], after[name])]
    assert moved
    for name in before:
        np.testing.assert_allclose(found['teacher/' + name], before[name], rtol=1e-5, atol=1e-6)
    assert not np.allclose(found['neighbours/probs'], plain_globals['neighbours/probs'],
                           atol=1e-4)
    assert not np.allclose(taught['mapping_loss'][1:], plain['mapping_loss'][1:], atol=1e-6)


def test_the_teacher_runs_with_its_own_labels_and_no_neighbours(data_root):
    """Without the neighbour vote the pseudo-labels are the teacher's own predictions."""
    graph, _, out, _, found = _run(pseudo_neighbours=0, pseudo_teacher=0.5)
    assert [t.name for t in graph.terms] == ['pseudo', 'teacher']
    assert all(np.all(np.isfinite(v)) for v in out.values())
    assert 'neighbours/probs' not in found


def test_a_teacher_without_pseudo_labels_is_said_at_the_start(data_root, tmp_path):
    """The switch of a term whose base term is off does nothing: train_adda.py says so
    before training, and the run records the option as off."""
    import yaml
    from conftest import run_tool
    snap = tmp_path / 'snap'
    common = ['--snapshot_dir', snap, '--batch_size', 16, '--seed', 0, '--iterations', 2]
    result = run_tool('train', 'mnist', 'train', 'lenet', 'src', *common)
    assert result.returncode == 0, result.stderr[-2000:]
    result = run_tool('train_adda', 'mnist:train', 'usps:train', 'lenet', 'ad', '--weights',
                      snap / 'src', '--adversary', 16, '--pseudo_teacher', 0.999, *common)
    assert result.returncode == 0, result.stderr[-2000:]
    output = result.stdout + result.stderr
    line = '--pseudo_teacher 0.999 does nothing without --target_pseudo'
    assert line in output and output.index(line) < output.index('Iteration')
    config = yaml.safe_load((snap / 'ad' / 'config.yaml').read_text())
    assert config['options']['pseudo_teacher'] == 0.0
