"""A run's twin: an independent run of the same task and settings with another seed, against
which the accuracy of the run's models is estimated without target labels (adda.estimate).

The twin of ``<task>-seed<S>`` is ``<task>-seed<TWIN_SEED>`` (TWIN_SEED: S + 1 unless set),
an ordinary run of the task, so that the runs of a sweep are each other's twins; a run with a
name of its own (PREFIX) has ``<PREFIX>-twin``. The pipeline makes a twin that is not there by
running the task script for it, with ESTIMATE=0 (a twin needs no twin).
"""
import os
import sys

# the records folder's files that say a run is there to be compared with
SELECTION = 'selection.yaml'


def twin_seed(run):
    return int(run.settings.get('TWIN_SEED') or int(run.seed) + 1)


def twin_of(run):
    """The Run that is ``run``'s twin."""
    counts = (run.settings['SOURCE_ITERATIONS'], run.settings['ADAPT_ITERATIONS'])
    seed = twin_seed(run)
    default = run.task.run_name(run.seed, *counts)
    prefix = run.task.run_name(seed, *counts) if run.prefix == default else \
        run.prefix + '-twin'
    settings = dict(run.settings, SEED=str(seed), PREFIX='', TWIN_SEED='', ESTIMATE='0')
    return type(run)(run.task, settings, prefix)


def finished(twin):
    """Whether the twin's records say it was made with its settings and has its reported
    model (the final snapshot; for a task that chooses, the choice too)."""
    if not twin.has_record():
        return False
    if twin.task.select and not os.path.isfile(os.path.join(twin.results, SELECTION)):
        return False
    final = os.path.join(twin.snapshot_dir, twin.adapt_out,
                         '{}-{}.index'.format(twin.adapt_out, twin.iterations[1]))
    return os.path.isfile(final)


def wanted(run):
    """Whether ``run`` is to be estimated at all (ESTIMATE is not 0)."""
    return run.settings.get('ESTIMATE', 'auto') != '0'


def make_twin(run, measured, present):
    """Whether a missing twin is made: ESTIMATE=1, or auto with a target split that has no
    labels (``present``: the target's splits, ``measured``: those with labels)."""
    setting = run.settings.get('ESTIMATE', 'auto')
    return setting == '1' or (setting == 'auto' and set(present) - set(measured))


def has_estimate(run):
    return any(name.startswith('estimate_') for name in os.listdir(run.results)) \
        if os.path.isdir(run.results) else False


def command(twin):
    """The command that makes the twin: the task script's (python -m adda.run)."""
    from adda.tasks import TASKS
    if twin.task.name in TASKS:
        return [sys.executable, '-m', 'adda.run', twin.task.name, twin.prefix]
    return [sys.executable, '-m', 'adda.run', '--pair', twin.task.source, twin.task.target,
            twin.prefix]


def environment(twin, env):
    """The twin's environment: ``env`` with its seed, no estimate of its own, waiting for its
    lock (a sweep may be making it), RECIPE as the task has it."""
    env = dict(env, SEED=str(twin.seed), ESTIMATE='0', RUN_LOCK='wait',
               RECIPE='1' if twin.task.recipe else '0')
    for name in ('PREFIX', 'TWIN_SEED'):
        env.pop(name, None)
    return env


def twin_seeds(seeds):
    """Each seed's twin (adda.twins): the next of the sweep's seeds, the last's the first, so
    that the sweep's runs are each other's twins; with one seed, the default (SEED + 1)."""
    if len(seeds) < 2:
        return [''] * len(seeds)
    return list(seeds[1:]) + [seeds[0]]


def estimate_runs(every, env, say):
    """tools/estimate.py for each finished run without an estimate whose twin (the next seed)
    is finished too: the sweep's runs estimated without labels, one after another (seconds
    each). ESTIMATE=0 estimates none."""
    import subprocess

    from adda.environment import ROOT
    for run in every:
        if run.settings.get('ESTIMATE') == '0' or has_estimate(run) or not (
                run.finished() and run.has_record()):
            continue
        twin = twin_of(run)
        if not finished(twin):
            continue
        say('{}: estimating its accuracy without target labels (twin: {})'.format(
            run.prefix, twin.prefix))
        command = [run.settings['PYTHON'], 'tools/estimate.py', run.results, twin.results,
                   '--device', run.settings['DEVICE']]
        with open(os.devnull, 'w') as quiet:
            if subprocess.call(command, env=env, cwd=ROOT, stdout=quiet):
                say('{}: the estimate failed (see above)'.format(run.prefix))
