"""Results folders as the task scripts leave them, for the report's tests."""
import yaml

from conftest import describe_run


SCRIPT_SETTINGS = {}


def script_settings(task):
    """The arguments scripts/<task>.sh records in run.yaml today (asked of the script)."""
    if task not in SCRIPT_SETTINGS:
        info = yaml.safe_load(describe_run(task, 0))
        SCRIPT_SETTINGS[task] = {k: info[k] for k in ('source', 'target', 'source_args',
                                                      'adapt_args', 'select')}
    return dict(SCRIPT_SETTINGS[task])


def fake_run(results, task, seed, accuracies, iterations=10000, name=None, **settings):
    """A run's folder as the task scripts leave it (made with the task's settings unless
    ``iterations`` or ``settings``, run.yaml keys, say otherwise)."""
    folder = results / (name or '{}-seed{}'.format(task, seed))
    folder.mkdir(parents=True)
    run_yaml = script_settings(task)
    run_yaml.update({'task': task, 'seed': seed, 'source_iterations': iterations,
                     'adapt_iterations': iterations, 'task_settings': iterations == 10000,
                     'train_args': ''}, **settings)
    (folder / 'run.yaml').write_text(yaml.safe_dump(run_yaml))
    for name, value in accuracies.items():
        (folder / (name + '.yaml')).write_text(yaml.safe_dump({'accuracy': value}))
    for split in ('train', 'test'):  # the reported model's predictions, as a finished run has
        (folder / 'predictions_{}.csv'.format(split)).write_text('index,class,probability\n')


def four(source_train, source_test, adda_train, adda_test):
    return {'source_only_train': source_train, 'source_only_test': source_test,
            'adda_train': adda_train, 'adda_test': adda_test}


def fake_recipe_run(results, task, seed, final, chosen, curve, source=(0.8, 0.8),
                    curve_split='train', **settings):
    """A recipe run (scripts/<task>-plus.sh): its source model's, the final and the chosen
    snapshot's (train, test) accuracies, the chosen step and the target accuracy per kept
    snapshot on ``curve_split`` (``settings``: run.yaml keys other than the script's today)."""
    accuracies = {'source_only_train': source[0], 'source_only_test': source[1],
                  'adda_train': final[0], 'adda_test': final[1],
                  'selected_train': chosen[1][0], 'selected_test': chosen[1][1]}
    fake_run(results, task + '-plus', seed, accuracies, **settings)
    folder = results / '{}-plus-seed{}'.format(task, seed)
    points = [{'step': step, 'accuracy': value} for step, value in curve]
    best = max(points, key=lambda p: (p['accuracy'], p['step']))
    (folder / 'curve_{}.yaml'.format(curve_split)).write_text(yaml.safe_dump(
        {'snapshots': points, 'oracle_uses_labels': best, 'final': points[-1]}))
    (folder / 'selection.yaml').write_text(yaml.safe_dump({
        'criterion': 'snd', 'chosen': {'step': chosen[0]},
        'snapshots': [{'step': step, 'scores': {'snd': float(step == chosen[0])}}
                      for step, _ in curve]}))
