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
