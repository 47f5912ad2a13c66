"""``python -m adda.sweep [TASK...]``: every task x seed, one after another or several at once,
each pinned to its own device, then the results table (scripts/reproduce.sh is this).

One scheduler (``schedule``) runs the runs for reproduce.sh and npu_train.sh (``--modelzoo``):
a worker per device takes the runs in order; each run is ``python -m adda.run TASK NAME`` in a
process of its own, so one that fails or crashes stops nothing else. A run another process
holds (its lock) is waited for at the end; Ctrl-C or SIGTERM start no further run, the runs
under way save and stop, and the sweep exits with status 130. ``--list`` and ``--finished``
serve Slurm's job array and its report job.
"""
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

from adda import twins
from adda.environment import (ROOT, RUN, SWEEP, USAGE_STATUS, RunError, environment_help,
                              normalized, read)
from adda.locks import FileLock
from adda.pinning import check_devices, default_devices, platform_of
from adda.run import RUN_BUSY, Run, same_run
from adda.tasks import DEFAULT_TASKS, TASKS

SIGNALLED = (130, 143)


# The sweep sets these of each run itself (SEED: each run's seed).
PER_RUN = ('SEED', 'PREFIX', 'PIN_DEVICE', 'RUN_LOCK', 'SKIP_FINISHED', 'TWIN_SEED')


def usage():
    lines = ['Run the tasks over several seeds, then print the results table.', '',
             'Usage: bash scripts/reproduce.sh [TASK...]   (or: python -m adda.sweep [TASK...])',
             '  TASK: {} [default: {}]'.format(' '.join(TASKS), ' '.join(DEFAULT_TASKS)), '']
    lines += textwrap.wrap('A run whose records exist and were made with these settings is '
                           'skipped; an interrupted one resumes. Exit status: 0 all finished, 1 '
                           'a run did not finish, 2 a bad argument or setting, 130 stopped by '
                           'Ctrl-C.', 96)
    lines += ['', 'Settings, through the environment (empty: the default):']
    return '\n'.join(lines + environment_help(SWEEP))


def run_settings(env):
    """The settings of the sweep's runs (adda.run's), from the sweep's environment, but those
    it sets itself (PER_RUN; PREFIX empty, SEED the first of SEEDS' default)."""
    return read(RUN, {k: v for k, v in env.items() if k not in PER_RUN})


class Output(object):
    """Lines to the console from several workers, whole; ``prefix`` before each."""

    def __init__(self, prefix=''):
        self.prefix = prefix
        self._lock = threading.Lock()

    def __call__(self, text, err=False):
        with self._lock:
            stream = sys.stderr if err else sys.stdout
            for line in text.splitlines() or ['']:
                stream.write(self.prefix + line + '\n')
            stream.flush()


def missing_data(task):
    """The files of the task's datasets that are not on disk."""
    from adda.data import get_dataset
    return [path for name in (task.source, task.target)
            for path in get_dataset(name).missing_files()]


class Job(object):
    """A run to do: its task, seed, name and log file (None: the console)."""

    def __init__(self, task, seed, run, log=None):
        self.task, self.seed, self.run, self.log = task, seed, run, log
        self.name = run.prefix
        self.twin_seed = run.settings.get('TWIN_SEED') or ''


class Scheduler(object):
    """Runs Jobs on ``devices`` (one worker each; [None]: one after another, unpinned).

    ``describe(job, device)`` is the line said when a job starts; ``env`` the environment of
    every run (``platform`` is exported as DEVICE when pinned); ``status_dir``: each job's
    "status seconds" is also written to <status_dir>/<task>/status."""

    def __init__(self, env, say, devices, platform=None, describe=None, skip_finished=True,
                 origin='reproduce.sh', report_each=True):
        self.env, self.say, self.origin = env, say, origin
        self.report_each = report_each  # a line when each run ends (npu_train.sh says its own)
        self.devices, self.platform = devices, platform
        self.describe = describe
        self.skip_finished = skip_finished
        self.stop = False
        self.statuses = {}
        self._next = 0
        self._lock = threading.Lock()

    def _take(self, jobs):
        with self._lock:
            if self.stop or self._next >= len(jobs):
                return None
            self._next += 1
            return jobs[self._next - 1]

    def run_one(self, job, device, run_lock):
        env = dict(self.env, SEED=str(job.seed), RUN_LOCK=run_lock, TWIN_SEED=job.twin_seed)
        env.pop('PREFIX', None)
        if self.skip_finished:
            env['SKIP_FINISHED'] = '1'
        if device is not None:
            env.update(PIN_DEVICE=device, DEVICE=self.platform)
        self.say(self.describe(job, device))
        command = [sys.executable, '-m', 'adda.run', job.task.name, job.name]
        started = time.time()
        if job.log is None:
            status = subprocess.call(command, env=env, cwd=ROOT)
        else:
            with open(job.log, 'a') as log:
                log.write('\n==> {}: {} on {} {} ({}, process {})\n'.format(
                    time.strftime('%Y-%m-%d %H:%M:%S'), job.name, self.platform, device,
                    self.origin, os.getpid()))
                log.flush()
                status = subprocess.call(command, env=env, cwd=ROOT, stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if status < 0:
            status = 128 - status
        self.statuses[job.name] = (status, int(time.time() - started))
        if self.report_each:
            self.report(job, status, int(time.time() - started))
        return status

    def report(self, job, status, seconds):
        if status == 0:
            if job.log is not None:
                self.say('{}: done after {} s'.format(job.name, seconds))
        elif status == RUN_BUSY:
            self.say('{}: another process is running it; waiting for it at the end'.format(
                job.name))
        elif status in SIGNALLED:
            self.say('{}: stopped by a signal after {} s'.format(job.name, seconds))
        else:
            self.say('{}: FAILED with exit status {} after {} s'.format(job.name, status,
                                                                       seconds))
            if job.log is not None:
                with open(job.log, errors='replace') as f:
                    self.say('\n'.join('    ' + line for line in f.read().splitlines()[-5:]))

    def worker(self, jobs, device):
        busy = []
        while True:
            job = self._take(jobs)
            if job is None:
                break
            status = self.run_one(job, device, 'fail')
            if status == RUN_BUSY:
                busy.append(job)
            elif status in SIGNALLED:
                self.stop = True
        for job in busy:
            if self.stop:
                break
            if self.run_one(job, device, 'wait') in SIGNALLED:
                self.stop = True

    def _signal(self, signum, frame):
        self.stop = True

    def __call__(self, jobs):
        """Run ``jobs``; returns False when stopped by a signal."""
        previous = {s: signal.signal(s, self._signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            workers = [threading.Thread(target=self.worker, args=(jobs, device))
                       for device in self.devices]
            for thread in workers:
                thread.daemon = True
                thread.start()
            for thread in workers:
                while thread.is_alive():
                    thread.join(0.2)  # the main thread stays free for the signal handler
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return not self.stop


def parallel_plan(env, jobs_text, devices_text):
    """(platform, devices) for JOBS / DEVICES, checked; DEVICE=auto resolved as the tools do."""
    jobs = int(jobs_text) if jobs_text else None  # checked: a whole number of at least 1
    settings = run_settings(env)
    platform = platform_of(settings['DEVICE'], settings['PYTHON'])
    devices = devices_text.split()
    jobs = jobs or len(devices) or 1
    devices = devices or default_devices(platform, jobs)
    check_devices(platform, devices)
    return platform, [devices[w % len(devices)] for w in range(jobs)]


def plan(task_names, seeds, env, say):
    """(jobs to do, every run of the sweep): a task whose data is missing is left out, with
    a note; a run finished earlier with these settings is not done again."""
    todo, every = [], []
    settings = run_settings(env)
    for name in task_names:
        if name not in TASKS:
            raise RunError('unknown task {} (known: {})'.format(name, ' '.join(TASKS)),
                           USAGE_STATUS)
        task = TASKS[name]
        missing = missing_data(task)
        if missing:
            say('Skipping {}: its data is not on disk:'.format(name))
            say('\n'.join('    missing: {}'.format(path) for path in missing))
            say('    (put the files there, or run scripts/{}.sh once with network access)'.format(
                name))
            continue
        for seed, twin_seed in zip(seeds, twins.twin_seeds(seeds)):
            run = Run(task, dict(settings, SEED=seed, PREFIX='', TWIN_SEED=twin_seed))
            every.append(run)
            if run.finished() and same_run(run.results, run):
                say('{}: finished earlier, skipping'.format(run.prefix))
            else:
                todo.append(Job(task, seed, run))
    return todo, every


def report(env, results_dir):
    """tools/report.py over the results, one report at a time (two sweeps end together)."""
    python = run_settings(env)['PYTHON']
    command = [python, 'tools/report.py', results_dir, '--png',
               os.path.join(results_dir, 'results.png'), '--markdown',
               os.path.join(results_dir, 'results.md')]
    if not os.path.isdir(results_dir):
        return subprocess.call(command, env=env, cwd=ROOT)
    with FileLock(os.path.join(results_dir, '.report.lock')):
        return subprocess.call(command, env=env, cwd=ROOT)


def reproduce(task_names, env, values):
    """scripts/reproduce.sh (``values``: its settings, read); returns the exit status."""
    say = Output()
    seeds = values['SEEDS'].split()
    parallel = bool(values['JOBS'] or values['DEVICES'])
    platform = None
    if parallel:  # resolved once, before the finished check: the runs record the device
        platform = platform_of(values['DEVICE'], values['PYTHON'])
        env['DEVICE'] = platform
    todo, every = plan(task_names or list(DEFAULT_TASKS), seeds, env, say)
    results_dir = values['RESULTS_DIR']
    if parallel and todo:
        platform, devices = parallel_plan(env, values['JOBS'], values['DEVICES'])
        log_dir = values['LOG_DIR'] or os.path.join(results_dir, 'logs')
        os.makedirs(log_dir, exist_ok=True)
        for job in todo:
            job.log = os.path.join(log_dir, job.name + '.log')
        say('Running {} runs, up to {} at once, on {} {}'.format(
            len(todo), len(devices), platform, ' '.join(dict.fromkeys(devices))))

        def describe(job, device):
            return '{}: running scripts/{}.sh on {} {}, log {}'.format(
                job.name, job.task.name, platform, device, job.log)
    else:
        devices = [None]

        def describe(job, device):
            return '{}: running scripts/{}.sh'.format(job.name, job.task.name)
    scheduler = Scheduler(env, say, devices, platform, describe)
    if todo and not scheduler(todo):
        say('Stopped: the runs under way saved their snapshots; run the same command again to '
            'resume')
        return 130
    not_finished = [run.prefix for run in every
                    if not (run.finished() and same_run(run.results, run))]
    twins.estimate_runs(every, env, say)
    status = report(env, results_dir)
    if status:
        return status
    if not_finished:
        say('Not finished: {}'.format(' '.join(not_finished)))
        return 1
    return 0


def modelzoo(task_names, env, log_dir, status_dir):
    """npu_train.sh's JOBS / DEVICES: its tasks (one seed) at once, each on its device, each's
    output in <log_dir>/<task>.log, its "status seconds" in <status_dir>/<task>/status."""
    say = Output('[CANN-Modelzoo] ')
    values = read(SWEEP + ('SEED',), env)
    platform, devices = parallel_plan(env, values['JOBS'], values['DEVICES'])
    settings = dict(run_settings(env), SEED=values['SEED'])
    jobs = []
    for name in task_names:
        run = Run(TASKS[name], dict(settings, PREFIX=''))
        jobs.append(Job(TASKS[name], settings['SEED'], run, os.path.join(log_dir,
                                                                         name + '.log')))
    say('Running up to {} tasks at once, on {} {}'.format(len(devices), platform,
                                                          ' '.join(dict.fromkeys(devices))))

    def describe(job, device):
        return 'Start {} ({}) on {} {}, log {}'.format(job.task.name, job.name, platform,
                                                       device, job.log)
    scheduler = Scheduler(env, say, devices, platform, describe, skip_finished=False,
                          origin='npu_train.sh', report_each=False)
    for job in jobs:  # its own log from the start, as the task script's output
        open(job.log, 'w').close()
    stopped = not scheduler(jobs)
    for job in jobs:
        if job.name in scheduler.statuses:
            os.makedirs(os.path.join(status_dir, job.task.name), exist_ok=True)
            with open(os.path.join(status_dir, job.task.name, 'status'), 'w') as f:
                f.write('{} {}\n'.format(*scheduler.statuses[job.name]))
    return 130 if stopped else 0


def slurm_list(task_names, env):
    """'<index> <task> <seed> <run name>' per run of TASKS x SEEDS, in the array's order."""
    seeds = read(('SEEDS',), env)['SEEDS'].split()
    settings = run_settings(env)
    index = 0
    for name in task_names:
        for seed in seeds:
            run = Run(TASKS[name], dict(settings, SEED=seed, PREFIX=''))
            print('{} {} {} {}'.format(index, name, seed, run.prefix))
            index += 1
    return 0


def slurm_finished(task_names, env):
    """report.sbatch: name each run of TASKS x SEEDS finished or not, then the report; exit 1
    when a run did not finish."""
    seeds = read(('SEEDS',), env)['SEEDS'].split()
    settings = run_settings(env)
    missing = []
    for name in task_names:
        for seed in seeds:
            run = Run(TASKS[name], dict(settings, SEED=seed, PREFIX=''))
            if run.finished() and same_run(run.results, run):
                print('finished: {}'.format(run.prefix))
            else:
                missing.append(run.prefix)
    sys.stdout.flush()
    if report(env, settings['RESULTS_DIR']):
        return 1
    if missing:
        print('Not finished: {} (their logs: {}/<run>.log)'.format(
            ' '.join(missing), read(('LOG_DIR',), env)['LOG_DIR'] or os.path.join(
                settings['RESULTS_DIR'], 'logs')))
        return 1
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    os.chdir(ROOT)
    try:
        if argv and argv[0] in ('-h', '--help'):
            print(usage())
            return 0
        values = read(SWEEP, os.environ)  # every setting checked before anything runs
        env = normalized(os.environ, SWEEP)  # the runs see the settings' names, not old ones
        if argv and argv[0] == '--modelzoo':  # --modelzoo LOG_DIR STATUS_DIR TASK...
            return modelzoo(argv[3:], env, argv[1], argv[2])
        if argv and argv[0] in ('--list', '--finished'):
            names = argv[1:] or list(DEFAULT_TASKS)
            unknown = [n for n in names if n not in TASKS]
            if unknown:
                raise RunError('unknown task {} (known: {})'.format(unknown[0], ' '.join(TASKS)),
                               USAGE_STATUS)
            return (slurm_list if argv[0] == '--list' else slurm_finished)(names, env)
        unknown = [a for a in argv if a.startswith('-')]
        if unknown:
            raise RunError('unknown option {} (usage: bash scripts/reproduce.sh [TASK...]; see '
                           '--help)'.format(unknown[0]), 2)
        return reproduce(argv, env, values)
    except RunError as e:
        print('Error: {}'.format(e.args[0]), file=sys.stderr, flush=True)
        return e.status


if __name__ == '__main__':
    sys.exit(main())
