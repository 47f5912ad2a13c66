"""The tasks, each declared once: its datasets, the two tools' arguments, iteration counts,
whether it chooses a snapshot without target labels, and the paper's numbers. The pipeline
(adda.run), the sweeps (adda.sweep), the task scripts, Slurm, the ModelZoo harness, ModelArts
and the report read this table.

``python -m adda.tasks`` prints the task names (for shell scripts). The standard library only:
modelarts_entry.py and the harness read it before anything else is installed.
"""
import collections
import sys

# The evaluation records of a run (<RESULTS_DIR>/<run>/<name>.yaml): each model evaluated on
# the target's two splits; a recipe run adds the label-free choice and the curve.
SPLITS = ('train', 'test')
MODEL_RECORDS = ('source_only', 'adda')
CHOICE_RECORDS = ('selected',)
SELECTION_RECORD, CURVE_RECORD = 'selection', 'curve_{}'  # the curve: on the protocol's split
RECIPE_SUFFIX = '-plus'  # <task>-plus: the recipe's runs of <task>


class Protocol(object):
    """How a task's datasets are drawn and where its accuracy is reported (``split``, shown
    first), with the results others published on it: (method, how its model was chosen,
    {base task: accuracy})."""

    def __init__(self, name, split, title, published=()):
        self.name, self.split, self.title = name, split, title
        self.published = list(published)

    @property
    def splits(self):
        """The target's two splits, the reported one first."""
        return (self.split,) + tuple(s for s in SPLITS if s != self.split)


PROTOCOLS = collections.OrderedDict((p.name, p) for p in (
    Protocol('paper', 'train', "the ADDA paper's protocol: 2000 MNIST / 1800 USPS training "
             "images, accuracy on the target's training images (which the adaptation saw)",
             published=[('ADDA, the Ascend ModelZoo port', 'best snapshot by the labelled '
                         'target training images', {'mnist-usps': 0.894, 'usps-mnist': 0.912})]),
    Protocol('full', 'test', "the field's protocol: the full training sets (MNIST 60,000, USPS "
             "7,291), accuracy on the target's test split (which the adaptation never saw)",
             published=[
                 ('SHOT (LeNet-class network)', 'last epoch, no target labels, 3 seeds',
                  {'mnist-usps-full': 0.980, 'usps-mnist-full': 0.984}),
                 ('ADDA, TLlib', 'best epoch by the labelled target test split',
                  {'mnist-usps-full': 0.945, 'usps-mnist-full': 0.983}),
                 ('CDAN+E', 'not stated', {'mnist-usps-full': 0.956, 'usps-mnist-full': 0.980}),
             ]),
))

# The original's settings (scripts/svhn-mnist.sh there): Adam, batch 128, lr 1e-3 / 2e-4.
_COMMON = ['--batch_size', '128', '--display', '10']
_SOURCE = _COMMON + ['--lr', '1e-3', '--snapshot', '5000', '--solver', 'adam']
_ADAPT = _COMMON + ['--lr', '2e-4', '--snapshot', '5000', '--solver', 'adam', '--adversary_relu']
# The recipe's adaptation: a snapshot every 500 iterations, all kept, infomax from step 0 up
# (recipe v3's, which added --augment 0.2 to the source training; docs/results.md).
_RECIPE_ADAPT = _COMMON + ['--lr', '2e-4', '--snapshot', '500', '--keep', '0', '--solver', 'adam',
                           '--adversary_relu', '--target_infomax', '0.3', '--infomax_ramp',
                           '3000']
# Recipe v6's self-training on neighbour-voted pseudo-labels.
_PSEUDO = ['--target_pseudo', '2', '--pseudo_ramp', '3000', '--pseudo_threshold', '0.5',
           '--target_augment', '0.3', '--pseudo_neighbours', '10']
# The recipe: one set of settings for every pair (the -plus tasks, scripts/adapt.sh with
# RECIPE=1), chosen on tuning seeds of both USPS tasks together (docs/results.md). It matched
# the per-task recipes v3 (MNIST->USPS) and v6 (USPS->MNIST) on seeds 0-4 and replaced them;
# v6 had zoom 0.5-0.9, the rest is v6's.
GENERAL_SOURCE = _SOURCE + ['--augment', '0.2', '--augment_zoom', '0.5', '1.2',
                            '--augment_shear', '0.5']
GENERAL_ADAPT = _RECIPE_ADAPT + _PSEUDO
GENERAL_ITERATIONS = 6000
GENERAL_DESCRIPTION = '''\
RECIPE (one for every pair, chosen on tuning seeds 100-101 of both USPS tasks; docs/results.md
says how and what was tried):
- source training: --augment 0.2 --augment_zoom 0.5 1.2 --augment_shear 0.5 (each image
  shifted by up to a fifth of its size, zoomed by 0.5-1.2 and sheared by a factor in
  [-0.5, 0.5], so that the classifier has seen digits of other sizes and slants);
- adaptation: --target_infomax 0.3 --infomax_ramp 3000 (confident, class-balanced target
  predictions, the weight growing from 0 over 3000 iterations) and self-training on
  pseudo-labels voted by the 10 most similar target images (--target_pseudo 2 --pseudo_ramp
  3000 --pseudo_threshold 0.5 --target_augment 0.3 --pseudo_neighbours 10); 6000 iterations,
  a snapshot every 500, one chosen without target labels (the source model is a candidate).'''


class Task(object):
    """One experiment: SOURCE train -> source-only evaluation -> adaptation to TARGET ->
    evaluation (and with ``select`` the label-free choice and the curve).

    source_args, adapt_args: the tools' options after ``--iterations N`` (N: the iteration
    counts); paper: method -> (mean, std) the ADDA paper reports on the target train split;
    base: the task whose row a recipe task's runs stand in (itself for a faithful task);
    protocol: a name of PROTOCOLS (its split: where the accuracy is reported and the curve
    drawn); description: the first lines of the task's --help.
    """

    def __init__(self, name, source, target, source_args, adapt_args, label, description,
                 source_iterations=10000, adapt_iterations=10000, select=False, paper=None,
                 base=None, protocol='paper'):
        self.name, self.source, self.target = name, source, target
        self.protocol = PROTOCOLS[protocol]
        self.source_args, self.adapt_args = list(source_args), list(adapt_args)
        self.source_iterations, self.adapt_iterations = source_iterations, adapt_iterations
        self.select = select
        self.paper = dict(paper or {})
        self.base = base or name
        self.label = label
        self.description = description
        self.entry = 'scripts/{}.sh'.format(name)  # how a user starts it

    @property
    def recipe(self):
        return self.base != self.name

    @property
    def curve_record(self):
        """The record of every kept snapshot's accuracy (on the protocol's split)."""
        return CURVE_RECORD.format(self.protocol.split)

    def records(self, splits=None):
        """The evaluation records a finished run has (file names without .yaml): on each of
        the target's labelled ``splits`` (default: both)."""
        splits = [s for s in self.protocol.splits if splits is None or s in splits]
        names = ['{}_{}'.format(model, split) for model in MODEL_RECORDS for split in splits]
        if self.select:
            names += ['{}_{}'.format(c, split) for c in CHOICE_RECORDS for split in splits]
            if self.protocol.split in splits:
                names.append(self.curve_record)
        return names

    def run_name(self, seed, source_iterations=None, adapt_iterations=None):
        """<task>-seed<SEED>, with -it<S>+<A> when the iteration counts are not the task's."""
        counts = self.iterations(source_iterations, adapt_iterations)
        name = '{}-seed{}'.format(self.name, seed)
        if counts != (self.source_iterations, self.adapt_iterations):
            name += '-it{}+{}'.format(*counts)
        return name

    def iterations(self, source_iterations=None, adapt_iterations=None):
        return (int(source_iterations or self.source_iterations),
                int(adapt_iterations or self.adapt_iterations))

    def tool_args(self, source_iterations=None, adapt_iterations=None):
        """(source training's, adaptation's) arguments, iteration counts first."""
        source, adapt = self.iterations(source_iterations, adapt_iterations)
        return (['--iterations', str(source)] + self.source_args,
                ['--iterations', str(adapt)] + self.adapt_args)


MNIST_USPS = Task(
    'mnist-usps', 'mnist2000', 'usps1800', _SOURCE, _ADAPT + ['--adversary_layer', 'fc3'],
    'MNIST→USPS', paper={'source_only': (0.752, 0.016), 'adda': (0.894, 0.002)},
    description='''\
MNIST -> USPS with 2000 MNIST and 1800 USPS training images (mnist2000 -> usps1800).

Settings: the original's (Adam, batch 128, source lr 1e-3, adaptation lr 2e-4, ReLU
discriminator, 10000 + 10000 iterations), except that the discriminator sees the encoder's
output (fc3, 500 values) instead of the logits, so the classifier keeps the source weights,
as in the paper. Chosen on seeds 100 and 101, never on the reported seeds 0-4: with the
logits the final snapshot reached 0.859 / 0.883 on usps1800 train, with fc3 0.906 / 0.903.''')
USPS_MNIST = Task(
    'usps-mnist', 'usps1800', 'mnist2000', _SOURCE, _ADAPT,
    'USPS→MNIST', paper={'source_only': (0.571, 0.017), 'adda': (0.901, 0.008)},
    description='''\
USPS -> MNIST with 1800 USPS and 2000 MNIST training images (usps1800 -> mnist2000).

Settings: the original's (Adam, batch 128, source lr 1e-3, adaptation lr 2e-4, ReLU
discriminator on the logits, 10000 + 10000 iterations). Checked on seeds 100 and 101, never
on the reported seeds 0-4: the final snapshot reached 0.950 / 0.940 on mnist2000 train (with
the discriminator on fc3 instead, 0.868 / 0.867).''')
SVHN_MNIST = Task(
    'svhn-mnist', 'svhn', 'mnist', _SOURCE, _ADAPT,
    'SVHN→MNIST', paper={'source_only': (0.601, 0.011), 'adda': (0.760, 0.018)},
    description="SVHN -> MNIST on the full training sets, with the original implementation's "
                "settings.")
MNIST_USPS_FULL = Task(
    'mnist-usps-full', 'mnist', 'usps', _SOURCE, _ADAPT + ['--adversary_layer', 'fc3'],
    'MNIST→USPS (full)', protocol='full', description='''\
MNIST -> USPS on the full training sets (mnist -> usps: 60,000 and 7,291 images), accuracy
reported on the USPS test split (2,007 images, never seen by the adaptation): the protocol of
most later papers and libraries (SHOT, TLlib, CDAN).

Settings: scripts/mnist-usps.sh's (the original's, the discriminator on fc3).''')
USPS_MNIST_FULL = Task(
    'usps-mnist-full', 'usps', 'mnist', _SOURCE, _ADAPT, 'USPS→MNIST (full)',
    protocol='full', description='''\
USPS -> MNIST on the full training sets (usps -> mnist: 7,291 and 60,000 images), accuracy
reported on the MNIST test split (10,000 images, never seen by the adaptation): the protocol
of most later papers and libraries (SHOT, TLlib, CDAN).

Settings: scripts/usps-mnist.sh's (the original's).''')


def _general(task):
    """The recipe's task of the faithful task ``task``: <task>-plus, with its own source
    model."""
    base = task.name
    return Task(base + RECIPE_SUFFIX, task.source, task.target, GENERAL_SOURCE, GENERAL_ADAPT,
                task.label, adapt_iterations=GENERAL_ITERATIONS, select=True, base=base,
                protocol=task.protocol.name, description='{}\n\nWith the recipe: the faithful '
                'settings plus the options below, {} adaptation iterations with a\nsnapshot every '
                '500, one chosen without target labels on the target\'s training images\n'
                '(tools/select_snapshot.py; the source model is a candidate, so the choice can be '
                '"do not\nadapt"). Runs are named {}-seed<SEED> and train their own source model.'
                '\n\n{}'.format(task.description.split('\n\n')[0], GENERAL_ITERATIONS,
                                 base + RECIPE_SUFFIX, GENERAL_DESCRIPTION))


# The table: each protocol's faithful tasks, then their recipe forms.
TASKS = collections.OrderedDict((task.name, task) for task in (
    MNIST_USPS, USPS_MNIST, SVHN_MNIST, _general(MNIST_USPS), _general(USPS_MNIST),
    MNIST_USPS_FULL, USPS_MNIST_FULL, _general(MNIST_USPS_FULL), _general(USPS_MNIST_FULL)))
# The tasks of a plain sweep, of npu_train.sh and of ModelArts: the paper's three.
DEFAULT_TASKS = ('mnist-usps', 'usps-mnist', 'svhn-mnist')


def pair_task(source, target, recipe=False):
    """The task SOURCE-TARGET (with the recipe SOURCE-TARGET-plus) for two dataset names: the
    original's settings (the discriminator on the logits), no paper numbers."""
    name = '{}-{}{}'.format(source, target, RECIPE_SUFFIX if recipe else '')
    if name in TASKS:
        raise KeyError('the pair {} -> {} would take the name of the table\'s task {} '
                       '(scripts/{}.sh, with its own datasets and settings)'.format(
                           source, target, name, name))
    label = '{}→{}'.format(source, target)
    if not recipe:
        task = Task(name, source, target, _SOURCE, _ADAPT, label, description='{} -> {} with the '
                    "original implementation's settings.".format(source, target))
    else:
        task = Task(name, source, target, GENERAL_SOURCE, GENERAL_ADAPT, label,
                    adapt_iterations=GENERAL_ITERATIONS, select=True,
                    base=name[:-len(RECIPE_SUFFIX)],
                    description='{} -> {} with the general recipe and a snapshot chosen '
                                'without target labels.\n\n{}'.format(
                                    source, target, GENERAL_DESCRIPTION))
    task.entry = '{}scripts/adapt.sh {} {}'.format('RECIPE=1 ' if recipe else '', source, target)
    return task


def task_of_record(record):
    """The task a run.yaml names: one of the table, or a pair task from its datasets."""
    name = record.get('task')
    if name in TASKS:
        return TASKS[name]
    source, target = record.get('source'), record.get('target')
    if not source or not target or name not in ('{}-{}'.format(source, target),
                                                '{}-{}{}'.format(source, target, RECIPE_SUFFIX)):
        raise KeyError('unknown task {}'.format(name))
    return pair_task(source, target, recipe=name.endswith(RECIPE_SUFFIX))


def base_tasks():
    """The faithful tasks (those the report's rows are for), in order."""
    return [task for task in TASKS.values() if not task.recipe]


USAGE = """Usage: python -m adda.tasks [--default]     the task names, one per line
       python -m adda.tasks --datasets TASK     its source and target datasets
       python -m adda.tasks --splits TASK       the target's splits, the reported one first
       python -m adda.tasks --name TASK SEED [SOURCE_ITERATIONS ADAPT_ITERATIONS]
                                                the default name of a run
       python -m adda.tasks --args TASK [SOURCE_ITERATIONS ADAPT_ITERATIONS]
                                                source and target, then source training's and
                                                adaptation's arguments (a line each)"""


def main(argv=None):
    """For shell scripts: the table's names, datasets, run names and tools' arguments."""
    argv = sys.argv[1:] if argv is None else argv
    if argv in ([], ['--default']):
        print('\n'.join(DEFAULT_TASKS if argv else list(TASKS)))
        return 0
    counts = {'--datasets': (2, 2), '--splits': (2, 2), '--name': (3, 5), '--args': (2, 4)}
    if argv[0] not in counts or not counts[argv[0]][0] <= len(argv) <= counts[argv[0]][1]:
        print(USAGE, file=sys.stderr)
        return 2
    if argv[1] not in TASKS:
        print('Error: unknown task {} (known: {})'.format(argv[1], ' '.join(TASKS)),
              file=sys.stderr)
        return 1
    task = TASKS[argv[1]]
    if argv[0] == '--datasets':
        print(task.source, task.target)
    elif argv[0] == '--splits':
        print(' '.join(task.protocol.splits))
    elif argv[0] == '--name':
        print(task.run_name(argv[2], *argv[3:]))
    else:
        print('{} {}'.format(task.source, task.target))
        for args in task.tool_args(*argv[2:]):
            print(' '.join(args))
    return 0


if __name__ == '__main__':
    sys.exit(main())
