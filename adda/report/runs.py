"""The runs a results folder holds, as the report reads them: each finished run of a task
script (<results>/<run>/run.yaml and its evaluation records), grouped by the row it stands in
(its task's faithful form), the runs made otherwise named with why; and the label-free
choices measured against the labelled curves."""
import collections
import glob
import os

from adda.errors import AddaError
from adda.records import DamagedRecord, read_number, read_record
from adda.tasks import (CHOICE_RECORDS, CURVE_RECORD, MODEL_RECORDS, SPLITS, base_tasks,
                        task_of_record)

# The faithful tasks (the tables' rows; adda/tasks.py; their recipe tasks' runs stand in their
# rows) -> label. The paper's protocol's rows are always shown; the other tasks' once they
# have runs.
ROW_LABELS = collections.OrderedDict((task.name, task.label) for task in base_tasks())
PROTOCOL_OF = {task.name: task.protocol.name for task in base_tasks()}
# method -> (label, the paper's accuracy per task as (mean, std)); Tzeng et al. 2017, on the
# target training split only. A method the paper does not report has an empty dict.
METHODS = collections.OrderedDict([
    ('source_only', ('source only', {t.name: t.paper['source_only'] for t in base_tasks()
                                     if 'source_only' in t.paper})),
    ('adda', ('ADDA', {t.name: t.paper['adda'] for t in base_tasks() if 'adda' in t.paper})),
    ('recipe_source', ("recipe's source model, no adaptation", {})),
    ('recipe', ('ADDA + recipe, final snapshot', {})),
    ('recipe_selected', ('ADDA + recipe, label-free choice', {})),
])
# Shown in the table, marked as a reference: the recipe run's best snapshot on the labelled
# target split of its protocol. It uses target labels, so it is not a method anyone could run.
ORACLE = ('oracle', 'best snapshot (uses target labels; reference only)')
SPLIT_TITLES = {'train': 'target train', 'test': 'target test'}
PAPER_SPLIT = 'train'
FINAL = 'final snapshot (no choice)'  # the reference row of the criteria table
# record file -> (method, split) for each kind of run
FAITHFUL_RECORDS = {'{}_{}'.format(m, s): (m, s) for m in MODEL_RECORDS for s in SPLITS}
# A run's estimates without target labels (estimate_<split>.yaml, adda/tools/estimate.py):
# (ESTIMATED, method, split) -> the estimate's record (accuracy, low, high, reliable).
ESTIMATED = 'estimated'
ESTIMATE_RECORD = 'estimate_{}'
RECIPE_METHODS = {'source_only': 'recipe_source', 'adda': 'recipe', 'selected': 'recipe_selected'}
RECIPE_RECORDS = {'{}_{}'.format(m, s): (RECIPE_METHODS[m], s)
                  for m in MODEL_RECORDS + CHOICE_RECORDS for s in SPLITS}


# What defines how a run was made, beyond its seed and iteration counts: run.yaml's record of
# the task script's arguments. Runs of one task are averaged only when these are the same.
RECIPE_KEYS = ('source', 'target', 'source_args', 'adapt_args', 'select')


def other_settings(run_info):
    """Why a run cannot stand beside the paper (made with other settings than its task's), or
    None when it can."""
    if 'task_settings' not in run_info:
        return 'made before run.yaml recorded its settings'
    if run_info['task_settings'] is not True:
        parts = ['source {} + adaptation {} iterations'.format(
            run_info.get('source_iterations'), run_info.get('adapt_iterations'))]
        if run_info.get('train_args'):
            parts.append('TRAIN_ARGS {}'.format(run_info['train_args']))
        return 'other settings: ' + ', '.join(parts)
    return None


def script_settings(task, iterations=None):
    """RECIPE_KEYS of the run.yaml a run of ``task`` (adda.tasks.Task) makes today, with the
    task's own iteration counts (or ``iterations``: (source, adaptation))."""
    from adda.run import Run, settings_of
    counts = {} if iterations is None else {'SOURCE_ITERATIONS': str(iterations[0]),
                                            'ADAPT_ITERATIONS': str(iterations[1])}
    record = Run(task, settings_of(counts)).record()
    return {key: record.get(key) for key in RECIPE_KEYS}


def variant_of(run_info):
    """How a run made with other iteration counts or TRAIN_ARGS than its task's differs, as
    (a key suffix, words for its label, a few words for the chart): ('@300+300', 'short run:
    300+300 iterations', 'short: 300+300'); None for a run made with its task's settings, or
    one whose record does not say how."""
    if run_info.get('task_settings') is not False:
        return None
    try:
        counts = int(run_info['source_iterations']), int(run_info['adapt_iterations'])
        task = task_of_record(run_info)
    except (KeyError, TypeError, ValueError):
        return None
    args = run_info.get('train_args') or ''
    short = not args and counts[0] <= task.source_iterations and \
        counts[1] <= task.adapt_iterations
    kind = 'short run' if short else 'other settings'
    words = '{}: {}+{} iterations'.format(kind, *counts)
    brief = '{}: {}+{}'.format(kind.split()[0], *counts)
    if args:
        words += ', TRAIN_ARGS {}'.format(args)
        brief += '\n+ TRAIN_ARGS'
    return '@{}+{}'.format(*counts) + (' ' + args if args else ''), words, brief


def protocol_of(task, runs):
    """The protocol (a name of adda.tasks.PROTOCOLS) of a task's rows."""
    if task in PROTOCOL_OF:
        return PROTOCOL_OF[task]
    return runs[task][0]['protocol'] if runs.get(task) else 'paper'


def task_labels(runs, protocol=None):
    """task -> its label in the tables and chart: the faithful tasks of the paper's protocol
    (unless every run is of another protocol), then the other tasks (the table's, and pairs
    of scripts/adapt.sh) that have runs; only those of ``protocol`` when given."""
    with_runs = [task for task in runs if runs[task]]
    paper = not with_runs or any(protocol_of(task, runs) == 'paper' for task in with_runs)
    labels = collections.OrderedDict(
        (task, label) for task, label in ROW_LABELS.items()
        if (paper and PROTOCOL_OF[task] == 'paper') or runs.get(task))
    for task in sorted(runs):
        if task not in labels and runs[task] and 'variant' not in runs[task][0]:
            labels[task] = runs[task][0]['label']
    labels = _with_variants(labels, runs)
    if protocol is not None:
        labels = collections.OrderedDict((task, label) for task, label in labels.items()
                                         if protocol_of(task, runs) == protocol)
    return labels


def _with_variants(labels, runs):
    """``labels`` with each task's rows of short runs and runs of other settings (load_runs
    with ``other``) after its own, the others' (of tasks without rows) last."""
    variants = sorted(task for task in runs if runs[task] and 'variant' in runs[task][0])
    ordered = collections.OrderedDict()
    for task, label in labels.items():
        ordered[task] = label
        for variant in variants:
            if runs[variant][0]['row_of'] == task:
                ordered[variant] = runs[variant][0]['label']
    for variant in variants:
        ordered.setdefault(variant, runs[variant][0]['label'])
    return ordered


def _script_differences(run_infos, left_out):
    """Drop from ``run_infos`` (folder -> run.yaml) the runs of a task made with other tools'
    arguments than the task table (adda/tasks.py) gives today, into ``left_out``."""
    reference = {}
    for folder in sorted(run_infos):
        info = run_infos[folder]
        task = info.get('task')
        counts = None
        if variant_of(info) is not None:
            counts = info['source_iterations'], info['adapt_iterations']
        if (task, counts) not in reference:
            reference[task, counts] = script_settings(task_of_record(info), counts)
        differ = [k for k in RECIPE_KEYS if info.get(k) != reference[task, counts][k]]
        if differ:
            left_out.append((os.path.basename(folder), 'other settings than scripts/{}.sh has '
                             'now: {} differ'.format(task, ', '.join(differ))))
            del run_infos[folder]


def load_runs(results_dir, left_out=None, damaged=None, other=False):
    """task -> list of runs for every finished run under results_dir that was made with its
    task's settings; a run is a dict {(method, split): accuracy}, its 'label' and 'protocol',
    its 'seed' and 'run' (its folder's name); a recipe run also has ('oracle', split) and
    'curve' ([(step, accuracy on the target split of its protocol)]) and 'chosen' (the
    label-free step). Runs made otherwise go to
    ``left_out`` as (name, reason); a run with a record that cannot be read is left out and
    the record goes to ``damaged`` (DamagedRecord).

    ``other``: the runs made with other iteration counts or TRAIN_ARGS (short runs) too, under
    a task of their own per task and settings ('<task>@<source>+<adaptation>[ <TRAIN_ARGS>]'),
    never with the task's runs; such a run also has 'variant' (what differs: 'short run:
    300+300 iterations', also in its label), 'brief' ('short: 300+300') and 'row_of' (its
    task's row)."""
    run_files = sorted(glob.glob(os.path.join(results_dir, '*', 'run.yaml')))
    if not run_files and glob.glob(os.path.join(results_dir, '**', '*.yaml'), recursive=True):
        raise AddaError('{} has no <run>/run.yaml: the report reads the runs of the task scripts '
                        '(scripts/<task>.sh write <results>/<run>/run.yaml beside their '
                        'evaluation records); evaluate with them, or read single records with '
                        'any YAML reader'.format(results_dir))
    left_out = [] if left_out is None else left_out
    damaged = [] if damaged is None else damaged
    run_infos = _run_records(run_files, left_out, damaged, other)
    _script_differences(run_infos, left_out)
    runs = collections.defaultdict(list)
    for folder in sorted(run_infos):
        try:
            key, run = _finished_run(folder, run_infos[folder])
        except DamagedRecord as e:
            damaged.append(e)
            continue
        if run is not None:
            runs[key].append(run)
    return runs


def _run_records(run_files, left_out, damaged, other):
    """folder -> run.yaml of the runs to report (with ``other``, short runs too); the others
    into ``left_out`` (name, why), damaged records into ``damaged``."""
    run_infos = {}
    for run_file in run_files:
        folder = os.path.dirname(run_file)
        try:
            run_info = read_record(run_file, 'task')
            reason = other_settings(run_info)
        except DamagedRecord as e:
            damaged.append(e)
            continue
        try:
            task_of_record(run_info)
        except KeyError as e:
            reason = reason or e.args[0]
        else:
            if other and variant_of(run_info) is not None:
                reason = None
        if reason is not None:
            left_out.append((os.path.basename(folder), reason))
        else:
            run_infos[folder] = run_info
    return run_infos


def _finished_run(folder, run_info):
    """(the key of its rows, the run as load_runs gives it) for the run in ``folder``; run None
    when it has not finished (a record missing). DamagedRecord for a record it cannot read."""
    task = task_of_record(run_info)
    expected = RECIPE_RECORDS if task.recipe else FAITHFUL_RECORDS
    run = {'label': task.label, 'protocol': task.protocol.name, 'seed': run_info.get('seed'),
           'run': os.path.basename(folder)}
    key, variant = task.base, variant_of(run_info)
    if variant is not None:
        key += variant[0]
        run.update(variant=variant[1], brief=variant[2], row_of=task.base,
                   label='{} ({})'.format(task.label, variant[1]))
    for name, method_split in expected.items():
        path = os.path.join(folder, name + '.yaml')
        if os.path.isfile(path):
            run[method_split] = read_number(path, 'accuracy')
    if task.recipe:
        run.update(_recipe_extras(folder, task.protocol.split))
    run.update(_estimates(folder, expected))
    # finished: every model measured on each of the target's splits, or estimated where it was
    # not (a split without labels); a recipe run's curve where its protocol's split was
    # measured
    splits = _target_splits(folder)
    finished = all(k in run or (ESTIMATED,) + k in run for k in expected.values()
                   if k[1] in splits) and (
        not task.recipe or 'curve' in run or task.protocol.split not in splits or
        (ESTIMATED, RECIPE_METHODS['adda'], task.protocol.split) in run)
    return key, run if finished else None


def _target_splits(folder):
    """The target's splits a run used: those it wrote predictions for (a target may have no
    test split); both for a run made before runs wrote predictions."""
    predicted = [split for split in SPLITS if os.path.isfile(os.path.join(
        folder, 'predictions_{}.csv'.format(split)))]
    return predicted or list(SPLITS)


def _estimates(folder, expected):
    """(ESTIMATED, method, split) -> the estimate of the run's models (accuracy, low, high),
    from its estimate_<split>.yaml files (the methods as ``expected`` names them)."""
    found = {}
    for split in SPLITS:
        path = os.path.join(folder, ESTIMATE_RECORD.format(split) + '.yaml')
        if not os.path.isfile(path):
            continue
        estimates = read_record(path, 'estimates')['estimates']
        try:
            for model, estimate in estimates.items():
                method = expected['{}_{}'.format(model, split)][0]
                found[ESTIMATED, method, split] = dict(
                    {k: float(estimate[k]) for k in ('accuracy', 'low', 'high')},
                    reliable=bool(estimate.get('reliable', True)))
        except (AttributeError, KeyError, TypeError, ValueError) as e:
            raise DamagedRecord(path, 'unreadable estimate ({})'.format(e))
    return found


def _recipe_extras(folder, split):
    """The oracle, the curve (on ``split``) and the chosen step of a recipe run (when
    recorded)."""
    extras = {}
    curve_path = os.path.join(folder, CURVE_RECORD.format(split) + '.yaml')
    if os.path.isfile(curve_path):
        curve = read_record(curve_path, 'snapshots', 'oracle_uses_labels')
        try:
            extras['curve'] = [(int(p['step']), float(p['accuracy']))
                               for p in curve['snapshots']]
            extras[ORACLE[0], split] = float(curve['oracle_uses_labels']['accuracy'])
        except (KeyError, TypeError, ValueError) as e:
            raise DamagedRecord(curve_path, 'unreadable curve ({})'.format(e))
    selection_path = os.path.join(folder, 'selection.yaml')
    if os.path.isfile(selection_path):
        try:
            extras['chosen'] = int(read_record(selection_path, 'chosen')['chosen']['step'])
        except (KeyError, TypeError, ValueError) as e:
            raise DamagedRecord(selection_path, 'unreadable choice ({})'.format(e))
    return extras


def mean_std(values):
    """Mean and sample standard deviation (0 for a single run)."""
    n = len(values)
    mean = sum(values) / n
    std = (sum((v - mean) ** 2 for v in values) / (n - 1)) ** 0.5 if n > 1 else 0.0
    return mean, std


def values_of(task_runs, method, split):
    return [run[method, split] for run in task_runs if (method, split) in run]


def estimates_of(task_runs, method, split):
    """The estimates (accuracy) of ``method`` on ``split`` over the runs that have one."""
    return [run[ESTIMATED, method, split]['accuracy'] for run in task_runs
            if (ESTIMATED, method, split) in run]


def has_recipe(runs, tasks=None):
    return any(('recipe', split) in run for task, task_runs in runs.items()
               if tasks is None or task in tasks for run in task_runs for split in SPLITS)


def criteria_agreement(results_dir, left_out=(), damaged=None):
    """criterion -> [(gap to the best snapshot, Kendall tau)] per run, over
    every run folder with both a label-free selection (selection.yaml) and a labelled curve
    (curve_train.yaml, or curve_test.yaml for a task of the field's protocol) of the same
    snapshots, but the runs named in ``left_out``; FINAL: the final snapshot's gap (no
    choice)."""
    from adda.selection import agreement, get_criterion
    found = collections.OrderedDict()
    skip = {name for name, _ in left_out} | {
        os.path.basename(os.path.dirname(e.path)) for e in damaged or ()}
    for path in sorted(glob.glob(os.path.join(results_dir, '*', 'selection.yaml'))):
        curve_paths = [os.path.join(os.path.dirname(path), CURVE_RECORD.format(split) + '.yaml')
                       for split in SPLITS]
        curve_path = next((p for p in curve_paths if os.path.isfile(p)), None)
        if curve_path is None or os.path.basename(os.path.dirname(path)) in skip:
            continue
        try:
            selection, curve = read_record(path), read_record(curve_path)
            accuracies = {int(p['step']): float(p['accuracy']) for p in curve['snapshots']}
            found.setdefault(FINAL, []).append(
                (max(accuracies.values()) - accuracies[max(accuracies)], None))
            snapshots = selection['snapshots']
            for name in snapshots[0]['scores']:
                scores = {int(s['step']): float(s['scores'][name]) for s in snapshots}
                higher = get_criterion(name).higher_is_better
                found.setdefault(name, []).append(agreement(scores, accuracies, higher))
        except DamagedRecord as e:
            if damaged is not None:
                damaged.append(e)
        except (KeyError, IndexError, TypeError, ValueError) as e:
            if damaged is not None:
                damaged.append(DamagedRecord(path, 'unreadable choice or curve ({})'.format(e)))
    return found
