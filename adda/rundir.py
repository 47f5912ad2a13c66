"""A training run's output folder: one run per folder, one process at a time, and the point
``--resume`` continues from.

``prepare_run_dir`` takes the folder's lock; refuses a folder that holds another run unless
told to continue it (``--resume``, with the same settings) or to replace it (``--overwrite``);
chooses the state to resume from (the newest intact one; a damaged one is reported and set
aside); and only then starts ``train.log``. A refused or failed start leaves nothing behind.
"""
import logging
import os
import re

from adda.checkpoints import (INDEX_FILE, SAVING_PREFIX, SNAPSHOT, STATE, STATE_FOLDER,
                              STATE_NAME, ResumePoint, find_state, newest_intact_snapshot,
                              remove_stale_temporaries)
from adda.errors import AddaError, write_error
from adda.locks import FOLDER_LOCK, FolderLock, describe_holder
from adda.records import read_record
from adda.terms import option_names, record
from adda.util import add_logfile

LOCK_FILE = FOLDER_LOCK
LOG_FILE = 'train.log'
CONFIG_FILE = 'config.yaml'
DAMAGED_SUFFIX = '.damaged'
ADAPTATION_SETTINGS = option_names()


def choose_resume(output_dir, output, from_snapshot=False):
    """(ResumePoint or None, [notes for the log], [damaged files]) for ``--resume``.

    The newest intact state wins; without one, ``from_snapshot`` allows the newest intact
    snapshot with a fresh optimizer state; otherwise an AddaError says what is damaged and
    how to go on.
    """
    found, damaged = find_state(output_dir)
    notes = []
    if found is not None:
        for path, reason in damaged:
            notes.append('Training state file {} is damaged ({}): resuming from the older intact '
                         'state {} at iteration {} instead'.format(path, reason, *found))
        return ResumePoint(found[0], found[1], STATE), notes, [p for p, _ in damaged]
    snapshot = newest_intact_snapshot(output_dir, output)
    if snapshot is None and not damaged:
        return None, notes, []
    if damaged:
        problem = 'the training state file {} is damaged ({}) and no older intact state is ' \
                  'left'.format(*damaged[0])
    else:
        problem = 'it has snapshots but no training state ({}/ is missing)'.format(
            os.path.join(output_dir, STATE_FOLDER))
    if snapshot is None:
        raise AddaError('cannot resume in {}: {}, and no snapshot is intact either; start '
                        'again without --resume, in a new output folder'.format(output_dir,
                                                                               problem))
    if not from_snapshot:
        raise AddaError('cannot resume in {}: {}; to continue from the newest intact snapshot '
                        '{} (iteration {}) with a fresh optimizer state, run again with '
                        '--resume --resume_from_snapshot'.format(output_dir, problem, *snapshot))
    notes.append('Cannot resume exactly: {}. Continuing from the snapshot {} at iteration {} '
                 'with a fresh optimizer state (--resume_from_snapshot): the model weights '
                 'continue; the optimizer state (and for adaptation the discriminator) starts '
                 'again'.format(problem, *snapshot))
    return ResumePoint(snapshot[0], snapshot[1], SNAPSHOT), notes, [p for p, _ in damaged]


def _set_aside(paths):
    moved = []
    for path in paths:
        prefix = path.split('.data-')[0] if '.data-' in path else path.rsplit('.index', 1)[0]
        for name in os.listdir(os.path.dirname(prefix) or '.'):
            full = os.path.join(os.path.dirname(prefix), name)
            if full.startswith(prefix + '.') and not full.endswith(DAMAGED_SUFFIX):
                os.replace(full, full + DAMAGED_SUFFIX)
                moved.append(full + DAMAGED_SUFFIX)
    return moved


def read_run_config(output_dir):
    """The config.yaml of the run in ``output_dir`` (a dict), or None when there is none; a
    damaged one is a DamagedRecord naming it."""
    return read_record(os.path.join(output_dir, CONFIG_FILE), missing_ok=True)


def snapshot_provenance(weights, names):
    """How the snapshot ``weights`` (a checkpoint prefix) was made, from its run's config.yaml:
    {'step', 'run', 'iterations', 'seed', 'settings'} (``settings``: those of ``names`` its run
    recorded); None for a checkpoint outside a run
    folder of ours."""
    folder = os.path.dirname(os.path.abspath(weights))
    try:
        config = read_run_config(folder)
    except AddaError:
        config = None
    if not config or not isinstance(config.get('options'), dict):
        return None
    options = config['options']
    tail = os.path.basename(weights).rsplit('-', 1)[-1]
    return {
        'step': int(tail) if tail.isdigit() else None,
        'run': folder,
        'iterations': options.get('iterations'),
        'seed': config.get('seed'),
        'settings': {key: options[key] for key in names if key in options},
    }


def run_contents(output_dir, output):
    """The files of a run in ``output_dir`` that another run must not mix with: snapshots, the
    checkpoint index and training states (sorted names, relative to the folder)."""
    found = []
    if not os.path.isdir(output_dir):
        return found
    for name in os.listdir(output_dir):
        if name == INDEX_FILE or name.startswith(output + '-'):
            found.append(name)
    state_dir = os.path.join(output_dir, STATE_FOLDER)
    if os.path.isdir(state_dir):
        found.extend(os.path.join(STATE_FOLDER, n) for n in os.listdir(state_dir))
    return sorted(found)


def _comparable(key, value):
    if isinstance(value, (list, tuple)):
        return [_comparable(key, v) for v in value]
    if key == 'weights' and isinstance(value, str):
        return os.path.normpath(os.path.abspath(value))
    if isinstance(value, float) and value.is_integer() and key != 'lr':
        return int(value)
    return value


def recorded_adaptation(options):
    """The adaptation options of a run's config.yaml ``options`` as train_adda.py records them
    today (adda.terms.record): one the config lacks came after the run was made, and the run
    had its default, recorded as its term's off value where that term is off."""
    return record({k: options[k] for k in ADAPTATION_SETTINGS if k in options})


def setting_differences(old_options, new_options, defaults=None, names=None):
    """['--name: old -> new'] for each run-defining option (``names``, in order) whose value
    differs between two config.yaml ``options`` (an option the new run leaves unset, like
    --seed on resume, takes the old value; one the old run's options lack takes what the tool
    would have recorded for that run: the adaptation options' (recorded_adaptation), else its
    value in ``defaults``, option name -> default). Without ``names``: every option either
    records, the new run's first."""
    if names is None:
        names = list(new_options) + [key for key in old_options if key not in new_options]
    if any(key in new_options for key in ADAPTATION_SETTINGS):
        old_options = dict(old_options, **recorded_adaptation(old_options))
    lines = []
    for key in names:
        if key not in old_options and key not in new_options:
            continue
        # an option the old config lacks came after that run was made: the run had its default
        old = old_options[key] if key in old_options else (defaults or {}).get(key)
        new = new_options.get(key)
        if key == 'seed' and new is None:
            continue
        if _comparable(key, old) != _comparable(key, new):
            lines.append('--{}: {} -> {}'.format(key, _show(old), _show(new)))
    return lines


def _show(value):
    if isinstance(value, (list, tuple)):
        return ' '.join(str(v) for v in value) or '(none)'
    return 'unset' if value is None else str(value)


def class_differences(recorded, options):
    """['classes of NAME: old -> new'] where a dataset of one's own now has other classes
    (by label) than the run recorded; ``options``: the new run's, as config.yaml records them."""
    from adda.data.own import run_classes
    now = run_classes(options)
    return ['classes of {}: {} -> {}'.format(name, _show(recorded.get(name)), _show(now.get(name)))
            for name in sorted(set(recorded) | set(now)) if recorded.get(name) != now.get(name)]


def check_resume_settings(output_dir, settings):
    """--resume continues the run in ``output_dir`` only with the settings it started with
    (those its tool declares as defining the run, ``settings.tool.run_names()``)."""
    config = read_run_config(output_dir)
    if config is None or not isinstance(config.get('options'), dict):
        raise AddaError('cannot resume in {}: its {} is missing, so the settings of the run it '
                        'holds cannot be checked; start again with --overwrite'.format(
                            output_dir, CONFIG_FILE))
    old = dict(config['options'])
    if config.get('seed') is not None:  # the seed the run used, drawn when not given
        old['seed'] = config['seed']
    new = settings.record()
    differences = setting_differences(old, new, settings.tool.defaults(),
                                      settings.tool.run_names())
    differences += class_differences(config.get('classes') or {}, new)
    if differences:
        raise AddaError('cannot resume in {}: the run there was started with other settings '
                        '(old -> new):\n  {}\nresume with the old settings, or start a new '
                        'run with --overwrite or in another OUTPUT folder'.format(
                            output_dir, '\n  '.join(differences)))


def _refuse_other_run(output_dir, contents):
    snapshots = sorted(int(name.rsplit('-', 1)[1].split('.')[0]) for name in contents
                       if name.endswith('.index') and '-' in name and
                       name.rsplit('-', 1)[1].split('.')[0].isdigit())
    what = 'snapshots up to iteration {}'.format(snapshots[-1]) if snapshots else \
        'training files ({})'.format(', '.join(contents[:3]))
    raise AddaError('output folder {} holds another run ({}); continue it with --resume, or '
                    'replace it with --overwrite'.format(output_dir, what))


def _checkpoint_name(prefix):
    """A pattern for the files of the checkpoints ``prefix``-<step> (and those set aside)."""
    return re.compile(r'^{}-\d+\.(index|meta|data-\d+-of-\d+)({})?$'.format(
        re.escape(prefix), re.escape(DAMAGED_SUFFIX)))


def _temporary(name):
    """What a killed save or write of ours leaves: .saving-* folders, .<file>.<pid>.tmp*."""
    return name.startswith(SAVING_PREFIX) or re.match(r'^\..+\.\d+\.tmp(\.\w+)?$', name)


def run_files(output_dir, output):
    """(the paths of what a run ``output`` writes in ``output_dir`` but the lock: snapshots,
    checkpoint indexes, training states, config.yaml, train.log, TensorBoard events and
    temporaries, by name; the names of everything else there)."""
    ours, others = [], []
    snapshot = _checkpoint_name(output)
    for name in sorted(os.listdir(output_dir)):
        path = os.path.join(output_dir, name)
        if name == LOCK_FILE:
            continue
        if name == STATE_FOLDER and os.path.isdir(path) and not os.path.islink(path):
            state = _checkpoint_name(STATE_NAME)
            inside = sorted(os.listdir(path))
            mine = [n for n in inside if n == INDEX_FILE or state.match(n) or _temporary(n)]
            ours.extend(os.path.join(path, n) for n in mine)
            others.extend(os.path.join(name, n) for n in inside if n not in mine)
            if len(mine) == len(inside):
                ours.append(path)  # the folder itself, once empty
        elif not os.path.islink(path) and (
                name in (INDEX_FILE, CONFIG_FILE, LOG_FILE) or snapshot.match(name) or
                name.startswith('events.out.tfevents.') or _temporary(name)):
            ours.append(path)
        else:
            others.append(name + ('/' if os.path.isdir(path) and not os.path.islink(path)
                                  else ''))
    return ours, others


def _remove_run(output_dir, output):
    """The run's files (run_files); returns (how many files went, the names of what stayed)."""
    import shutil
    ours, others = run_files(output_dir, output)
    files = sum(1 for path in ours if not os.path.isdir(path))
    for path in ours:
        if os.path.isdir(path):
            if os.path.basename(path) == STATE_FOLDER:
                os.rmdir(path)  # emptied above: its entries come first
            else:
                shutil.rmtree(path)  # a temporary folder of a save
        else:
            os.remove(path)
    return files, others


def prepare_run_dir(output_dir, settings):
    """Lock ``output_dir`` (created if needed) for this run, make sure it does not mix with
    another run, choose what ``--resume`` continues from, then start its train.log; returns
    (the ResumePoint or None, the FolderLock, which the run releases when it ends; the process's
    exit releases it too). ``settings``: the training tool's (adda/options.py).

    Nothing is written, and nothing of an earlier run touched, before the folder is known to
    be free, the run it holds is known to be the one resumed (or ``--overwrite`` replaces it)
    and the state to resume from is known to be intact.
    """
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise AddaError('output folder {} is a file'.format(output_dir))
    created = not os.path.isdir(output_dir)
    try:
        os.makedirs(output_dir, exist_ok=True)
    except OSError as e:
        raise write_error(output_dir, e, 'the output folder')
    lock = FolderLock(output_dir)
    replaced, kept = 0, []
    try:
        stale = lock.acquire()
        contents = run_contents(output_dir, settings.output)
        if settings.resume:
            resume, notes, damaged = choose_resume(output_dir, settings.output,
                                                   settings.resume_from_snapshot)
            if resume is not None:
                check_resume_settings(output_dir, settings)
        else:
            resume, notes, damaged = None, [], []
            if contents and not settings.overwrite:
                _refuse_other_run(output_dir, contents)
            if contents:
                replaced, kept = _remove_run(output_dir, settings.output)
    except AddaError:
        lock.release()
        if created:
            os.rmdir(output_dir)
        raise
    except OSError as e:
        lock.release()
        raise write_error(output_dir, e, 'the previous run')
    remove_stale_temporaries(output_dir)
    remove_stale_temporaries(os.path.join(output_dir, STATE_FOLDER))
    add_logfile(os.path.join(output_dir, LOG_FILE))
    if replaced:
        logging.warning('Removed the previous run in %s (%d files; --overwrite)', output_dir,
                        replaced)
    if kept:
        logging.warning('Kept what is not the run\'s in %s: %s', output_dir, ', '.join(kept))
    if stale:
        logging.warning('Took over the lock of %s from %s, which is no longer running',
                        output_dir, describe_holder(stale))
    for note in notes:
        logging.warning(note)
    moved = _set_aside(damaged)
    if moved:
        logging.warning('Moved the damaged state files aside: %s', ', '.join(moved))
    return resume, lock
