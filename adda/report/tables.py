"""The report's Markdown: a table per protocol (a row per task and method: the paper's figure,
mean ± std over seeds, the worst seed, the number of runs; others' published results), how
often the label-free choice kept the source model, and the criteria's agreement with the
labelled curves."""
from adda.report.runs import (FINAL, METHODS, ORACLE, SPLIT_TITLES, estimates_of, has_recipe,
                              mean_std, task_labels, values_of)
from adda.tasks import PROTOCOLS


def summary(values, digits=3):
    """'mean ± std' over several runs; one run is one value, marked as such."""
    if len(values) == 1:
        return '{:.{d}f} (1 run)'.format(values[0], d=digits)
    return '{:.{d}f} ± {:.{d}f}'.format(*mean_std(values), d=digits)


def source_kept(runs):
    """How often the label-free choice kept the source model (step 0: no adaptation), per task
    with recipe runs that chose."""
    parts = []
    for task, label in task_labels(runs).items():
        chosen = [run['chosen'] for run in runs.get(task, []) if 'chosen' in run]
        if chosen:
            parts.append('{} {} of {}'.format(label, chosen.count(0), len(chosen)))
    if not parts:
        return ''
    return ('The label-free choice kept the source model (step 0, no adaptation) in: ' +
            ', '.join(parts) + ' runs')


def runs_label(n):
    """'not run', '1 run', '2 runs', ..."""
    return 'not run' if not n else '{} run{}'.format(n, '' if n == 1 else 's')


def markdown_table(runs):
    """A table per protocol (adda.tasks.PROTOCOLS) with tasks to show, under a line naming
    it: a row per task and method, the paper's figure, mean ± std over seeds and the worst seed
    on the protocol's split, mean ± std on the other split, and the number of runs; the
    recipe's rows once it has runs; then the results others published on that protocol, each
    with how its model was chosen."""
    tables = []
    for protocol in PROTOCOLS.values():
        labels = task_labels(runs, protocol.name)
        if labels:
            tables.append('Protocol: {}\n\n{}'.format(
                protocol.title, protocol_table(runs, protocol, labels)))
    return '\n\n'.join(tables)


def protocol_table(runs, protocol, labels):
    """markdown_table's table of one protocol's tasks (``labels``: task -> label)."""
    first, second = protocol.splits
    lines = ['| task | method | paper | {}{} | worst seed | {} | runs |'.format(
        SPLIT_TITLES[first], ' (paper protocol)' if protocol.name == 'paper' else
        " (the field's protocol)", SPLIT_TITLES[second]), '|---|---|---|---|---|---|---|']
    recipe = has_recipe(runs, labels)
    rows = [(method, name, paper) for method, (name, paper) in METHODS.items()
            if recipe or not method.startswith('recipe')]
    if recipe:
        rows.append((ORACLE[0], ORACLE[1], {}))
    for task, label in labels.items():
        task_runs = runs.get(task, [])
        for method, name, paper in rows:
            shown, other = (values_of(task_runs, method, split) for split in (first, second))
            cells = ['{:.3f} ± {:.3f}'.format(*paper[task]) if task in paper else '—',
                     summary(shown) if shown else 'not run',
                     '{:.3f}'.format(min(shown)) if shown else '—',
                     summary(other) if other else (
                         '—' if method == ORACLE[0] and shown else 'not run')]
            if shown or other or not _estimated(task_runs, method, protocol.splits):
                lines.append('| {} | {} | {} | {} | {} | {} | {} |'.format(
                    label, name, cells[0], cells[1], cells[2], cells[3], len(shown)))
            lines += estimated_row(label, name, task_runs, method, protocol.splits)
        for method, chosen, accuracy in protocol.published:
            if task in accuracy:
                lines.append('| {} | {} (published; {}) | — | {:.3f} | — | — | — |'.format(
                    label, method, chosen, accuracy[task]))
    return '\n'.join(lines)


def _estimated(task_runs, method, splits):
    return any(estimates_of(task_runs, method, split) for split in splits)


def estimated_row(label, name, task_runs, method, splits):
    """The row of a method's accuracies estimated without target labels (adda.estimate),
    marked as such in its method column and in every cell; none when no run has them."""
    if not _estimated(task_runs, method, splits):
        return []
    shown, other = (estimates_of(task_runs, method, split) for split in splits)
    cells = [summary(shown) + ' (est.)' if shown else '—',
             '{:.3f} (est.)'.format(min(shown)) if shown else '—',
             summary(other) + ' (est.)' if other else '—']
    return ['| {} | {}, estimated without target labels | — | {} | {} | {} | {} |'.format(
        label, name, cells[0], cells[1], cells[2], len(shown))]


def criteria_table(found):
    """Markdown: per criterion, the mean and worst gap between the snapshot it chooses and the
    best one (by target labels), and the mean rank correlation with the true accuracies."""
    from adda.selection import CRITERIA, DEFAULT_CRITERION
    lines = ['| criterion | mean gap to the best snapshot | worst gap | mean Kendall τ | runs |',
             '|---|---|---|---|---|']
    names = sorted((n for n in found if n != FINAL), key=list(CRITERIA).index)
    for name in names + [FINAL]:
        gaps, taus = [g for g, _ in found[name]], [t for _, t in found[name]]
        lines.append('| {}{} | {:.4f} | {:.4f} | {} | {} |'.format(
            name, ' (default)' if name == DEFAULT_CRITERION else '', sum(gaps) / len(gaps),
            max(gaps), '—' if name == FINAL else '{:+.2f}'.format(sum(taus) / len(taus)),
            len(gaps)))
    return '\n'.join(lines)
