"""How the accuracies estimated without target labels (adda.estimate) compare with the measured
ones, for every run whose target has labels: the table behind docs/results.md's "The accuracy
without target labels" (``tools/report.py --estimates``)."""
import collections

from adda.report.runs import ESTIMATED, METHODS, task_labels

# Each kind of run: its source model's method and the method of the model it reports.
REPORTED = {'source_only': 'adda', 'recipe_source': 'recipe_selected'}
CLOSE = 0.02  # the ranking is checked where the two models differ by more than this


def comparisons(runs):
    """[(task label, run name, method, split, measured, estimate record)] for every model and
    split of every run that has both."""
    rows = []
    labels = task_labels(runs)
    for task, task_runs in runs.items():
        for run in task_runs:
            for key, estimate in sorted(run.items(), key=lambda item: str(item[0])):
                if not (isinstance(key, tuple) and key[0] == ESTIMATED):
                    continue
                _, method, split = key
                if (method, split) in run:
                    rows.append((labels.get(task, task), run['run'], method, split,
                                 run[method, split], estimate))
    return rows


def said(source, reported):
    """adda.estimate.verdict of two estimate records (one made before records said whether
    they were reliable counts as reliable)."""
    from adda.estimate import verdict
    Said = collections.namedtuple('Said', 'accuracy low high reliable')
    return verdict(*(Said(e['accuracy'], e['low'], e['high'], e.get('reliable', True))
                     for e in (source, reported)))


def verdicts(runs):
    """[(run, split, measured source, measured reported, estimated source, estimated
    reported, verdict)] for each run whose source model and reported model were both
    measured and estimated."""
    found = []
    for task_runs in runs.values():
        for run in task_runs:
            for source, reported in REPORTED.items():
                for split in ('train', 'test'):
                    keys = [(source, split), (reported, split)]
                    if not all(k in run and (ESTIMATED,) + k in run for k in keys):
                        continue
                    measured = [run[k] for k in keys]
                    estimates = [run[(ESTIMATED,) + k] for k in keys]
                    found.append((run['run'], split) + tuple(measured) + tuple(
                        e['accuracy'] for e in estimates) + (said(*estimates),))
    return found


def ranking_mistakes(runs):
    """The verdicts (as ``verdicts``) that say adaptation helped when it hurt by more than
    CLOSE, or hurt when it helped by more than CLOSE."""
    wrong = {True: 'hurt', False: 'helped'}
    return [row for row in verdicts(runs) if abs(row[3] - row[2]) > CLOSE and
            row[6] == wrong[row[3] > row[2]]]


def estimate_table(runs):
    """Markdown: a row per run, model and split (measured, estimate, interval, error, whether
    the interval holds the measured accuracy), then the mean and worst absolute error, how
    often the interval held, and the ranking of the source model and the reported one."""
    rows = comparisons(runs)
    if not rows:
        return 'No run has both a measured and an estimated accuracy (estimate_<split>.yaml ' \
               'beside labelled evaluation records).'
    lines = ['| task | run | model | split | measured | estimated [90% interval] | error | '
             'held |', '|---|---|---|---|---|---|---|---|']
    errors, held = [], []
    for label, name, method, split, measured, estimate in rows:
        error = estimate['accuracy'] - measured
        inside = estimate['low'] <= measured <= estimate['high']
        errors.append(abs(error))
        held.append(inside)
        lines.append('| {} | {} | {} | {} | {:.4f} | {:.4f} [{:.4f}, {:.4f}]{} | {:+.4f} | {} |'
                     .format(label, name, METHODS[method][0], split, measured,
                             estimate['accuracy'], estimate['low'], estimate['high'],
                             '' if estimate.get('reliable', True) else ' unreliable', error,
                             'yes' if inside else '**no**'))
    mistakes = ranking_mistakes(runs)
    told = collections.Counter(row[6] for row in verdicts(runs))
    lines += ['', 'Absolute error over {} rows: mean {:.4f}, worst {:.4f}; the interval held '
              'the measured accuracy in {} of {} rows ({:.0%}).'.format(
                  len(errors), sum(errors) / len(errors), max(errors), sum(held), len(held),
                  sum(held) / float(len(held))),
              'What the estimates said adaptation did: {}. Where the measured source model and '
              'reported one differ by more than {}: {}.'.format(
                  ', '.join('{} {}'.format(k, n) for k, n in sorted(told.items())), CLOSE,
                  'no verdict was the opposite of the measured change' if not mistakes
                  else 'the opposite verdict in ' + '; '.join(
                      '{} {} (measured {:.4f} -> {:.4f}, estimated {:.4f} -> {:.4f}: '
                      '{})'.format(*m) for m in mistakes))]
    return '\n'.join(lines)


def summary_numbers(runs):
    """(rows, mean absolute error, worst, share of rows whose interval held, ranking
    mistakes) for tests and the docs."""
    rows = comparisons(runs)
    errors = [abs(e['accuracy'] - m) for _, _, _, _, m, e in rows]
    held = [e['low'] <= m <= e['high'] for _, _, _, _, m, e in rows]
    if not rows:
        return collections.namedtuple('Summary', 'rows mean worst held mistakes')(0, None, None,
                                                                                 None, [])
    return collections.namedtuple('Summary', 'rows mean worst held mistakes')(
        len(rows), sum(errors) / len(errors), max(errors), sum(held) / float(len(held)),
        ranking_mistakes(runs))
