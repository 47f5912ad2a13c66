"""The Slurm route for real: a one-node cluster on this machine (munged with a fresh key,
slurmctld and slurmd on localhost, a generated slurm.conf), a 2-element job array of short runs
submitted by scripts/slurm/submit.sh, then the report queued after it.

The test needs Debian's Slurm and MUNGE packages (munge slurmctld slurmd slurm-client), which
.ci/run installs; it installs nothing itself. Where they are missing or the daemons cannot work
here (not root), it is skipped with the reason printed; under CI=true it fails instead. What it
sees (job ids, the array's states, the records) goes to the console."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import yaml

from conftest import ROOT, require, write_mnist, write_usps
from slurm_fixtures import slurm_missing

# Runtime-independent: one pass of .ci/run runs it (conftest.belongs_here).
pytestmark = pytest.mark.once

SUBMIT = os.path.join(ROOT, 'scripts', 'slurm', 'submit.sh')
RECORDS = ('source_only_train', 'source_only_test', 'adda_train', 'adda_test')
TIMEOUT = 1500  # seconds for the array and the report to end


def say(capsys, *lines):
    """Print to the console even while pytest captures output (for the CI log)."""
    with capsys.disabled():
        for line in lines:
            print('[slurm test] {}'.format(line))
        sys.stdout.flush()


def command_output(command, timeout=120, env=None):
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, timeout=timeout, env=env)
    return result.returncode, result.stdout


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def node_line():
    """This machine's node description as slurmd -C reports it, named localhost."""
    status, output = command_output(['slurmd', '-C'])
    match = re.search(r'^NodeName=\S+ (CPUs=.*?) RealMemory=\d+', output, re.M)
    if status != 0 or not match:
        raise RuntimeError('slurmd -C did not describe this node: {}'.format(output.strip()))
    return 'NodeName=localhost NodeAddr=127.0.0.1 {} RealMemory=500 State=UNKNOWN'.format(
        match.group(1))


SLURM_CONF = '''\
ClusterName=addatest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={base}/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation={base}/state
SlurmdSpoolDir={base}/spool
SlurmctldPidFile={base}/slurmctld.pid
SlurmdPidFile={base}/slurmd.pid
SlurmctldLogFile={base}/slurmctld.log
SlurmdLogFile={base}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=3600
{node}
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
'''


class Cluster(object):
    """munged, slurmctld and slurmd with their files in one folder; stop() ends what started."""

    def __init__(self):
        # munged wants every folder above its socket open to all (pytest's tmp is not).
        self.base = tempfile.mkdtemp(prefix='adda-slurm-')
        os.chmod(self.base, 0o755)
        self.conf = os.path.join(self.base, 'slurm.conf')
        self.env = dict(os.environ, SLURM_CONF=self.conf)
        self.pids = []

    def path(self, name):
        return os.path.join(self.base, name)

    def start(self):
        """None when the cluster is up, else why not."""
        for folder in ('state', 'spool'):
            os.mkdir(self.path(folder))
        with open(self.path('munge.key'), 'wb') as f:
            f.write(os.urandom(1024))
        os.chmod(self.path('munge.key'), 0o600)
        started = self.daemon('munged', [
            'munged', '--socket=' + self.path('munge.socket'),
            '--key-file=' + self.path('munge.key'), '--log-file=' + self.path('munged.log'),
            '--pid-file=' + self.path('munged.pid'), '--seed-file=' + self.path('munged.seed')])
        if started:
            return started
        with open(self.conf, 'w') as f:
            f.write(SLURM_CONF.format(base=self.base, ctld_port=free_port(),
                                      slurmd_port=free_port(), node=node_line()))
        started = (self.daemon('slurmctld', ['slurmctld', '-f', self.conf]) or
                   self.daemon('slurmd', ['slurmd', '-f', self.conf, '-N', 'localhost']))
        if started:
            return started
        deadline = time.time() + 90
        while time.time() < deadline:
            status, output = command_output(['sinfo', '-h', '-o', '%T'], env=self.env)
            if status == 0 and output.strip() in ('idle', 'mixed', 'allocated'):
                return None
            time.sleep(1)
        return 'the node did not come up (sinfo: {}); {}'.format(output.strip(), self.log_tails())

    def daemon(self, name, command):
        status, output = command_output(command, env=self.env)
        pid_file = self.path(name + '.pid')
        for _ in range(50):
            if os.path.exists(pid_file) and open(pid_file).read().strip():
                break
            time.sleep(0.1)
        if os.path.exists(pid_file) and open(pid_file).read().strip():
            self.pids.append(int(open(pid_file).read().strip()))
        if status != 0 or not os.path.exists(pid_file):
            return '{} did not start (exit status {}): {} {}'.format(
                name, status, output.strip(), self.log_tails())
        return None

    def log_tails(self):
        tails = []
        for name in ('munged.log', 'slurmctld.log', 'slurmd.log'):
            if os.path.exists(self.path(name)):
                lines = open(self.path(name)).read().strip().splitlines()[-3:]
                tails.append('{}: {}'.format(name, ' | '.join(lines)))
        return '; '.join(tails)

    def stop(self):
        if os.path.exists(self.conf):
            command_output(['scancel', '--user', 'root'], env=self.env)
        for pid in reversed(self.pids):
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                continue
            for _ in range(100):  # up to 10 s each
                try:
                    os.kill(pid, 0)
                except OSError:
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def cluster(capsys):
    reason = slurm_missing()
    if reason is None and os.geteuid() != 0:
        reason = 'slurmd runs jobs as their users, which needs root (uid {})'.format(os.geteuid())
    if reason:
        say(capsys, 'NOT RUN: ' + reason)
        require(False, reason)
    cluster = Cluster()
    try:
        reason = cluster.start()
        if reason:
            say(capsys, 'NOT RUN: the Slurm daemons cannot run here: ' + reason)
            require(False, 'the Slurm daemons cannot run here: ' + reason)
        say(capsys, 'cluster up: munged, slurmctld, slurmd (pids {}), config {}'.format(
            ' '.join(map(str, cluster.pids)), cluster.conf))
        yield cluster
    finally:
        cluster.stop()


def job_states(cluster, job):
    """{array index or None: (state, exit code)} from scontrol."""
    status, output = command_output(['scontrol', 'show', 'job', '-o', str(job)], env=cluster.env)
    states = {}
    for line in output.splitlines():
        fields = dict(f.split('=', 1) for f in line.split() if '=' in f)
        if 'JobState' in fields:
            index = fields.get('ArrayTaskId')
            states[int(index) if index and index.isdigit() else index] = (
                fields['JobState'], fields.get('ExitCode'))
    return states


def test_job_array_runs_a_sweep_and_the_report_follows(cluster, capsys, tmp_path):
    data = tmp_path / 'data'
    write_mnist(str(data / 'mnist'), counts=(2000, 100))
    write_usps(str(data / 'usps'), counts=(1800, 100))
    results = tmp_path / 'results'
    env = dict(cluster.env, PYTHON=sys.executable, ADDA_DATA_DIR=str(data), DEVICE='cpu',
               SEEDS='7', SOURCE_ITERATIONS='20', ADAPT_ITERATIONS='20',
               RESULTS_DIR=str(results), SNAPSHOT_DIR=str(tmp_path / 'snap'),
               PYTHONIOENCODING='utf-8')
    for name in ('TASKS', 'JOBS', 'DEVICES', 'LOG_DIR', 'TRAIN_ARGS', 'PRECISION', 'PIN_DEVICE'):
        env.pop(name, None)
    status, output = command_output(['bash', SUBMIT, '--cpus-per-task=1', 'mnist-usps',
                                     'usps-mnist'], env=env)
    say(capsys, *output.strip().splitlines())
    assert status == 0, output
    array = int(re.search(r'^Submitted array job (\d+): 2 runs', output, re.M).group(1))
    report = int(re.search(r'^Submitted report job (\d+): runs after job {} '.format(array),
                           output, re.M).group(1))

    seen = None
    deadline = time.time() + TIMEOUT
    while True:
        states = (job_states(cluster, array), job_states(cluster, report))
        if states != seen:
            say(capsys, 'array job {}: {}; report job {}: {}'.format(
                array, ', '.join('{}={}'.format(i, s[0]) for i, s in sorted(states[0].items())),
                report, ', '.join(s[0] for s in states[1].values())))
            seen = states
        ended = [s[0] for group in states for s in group.values()]
        if len(states[0]) == 2 and ended and all(s in ('COMPLETED', 'FAILED', 'CANCELLED',
                                                       'TIMEOUT', 'OUT_OF_MEMORY', 'NODE_FAIL')
                                                  for s in ended):
            break
        if time.time() > deadline:
            logs = sorted(os.listdir(str(results / 'logs'))) if (results / 'logs').exists() else []
            pytest.fail('Slurm jobs not done after {} s: {}; logs {}'.format(
                TIMEOUT, states, logs))
        time.sleep(2)

    logs = results / 'logs'
    # 20 + 20 iterations: the task scripts' own names for runs shorter than the task's
    for index, name in enumerate(('mnist-usps-seed7-it20+20', 'usps-mnist-seed7-it20+20')):
        out = (logs / 'slurm-{}_{}.out'.format(array, index)).read_text()
        say(capsys, 'slurm-{}_{}.out: {}'.format(array, index, ' | '.join(out.splitlines())))
        assert out.splitlines()[0].startswith('{}: job {}_{} on '.format(name, array, index))
        assert ', 1 cores, log {}'.format(logs / (name + '.log')) in out  # --cpus-per-task=1
        assert out.splitlines()[-1] == '{}: exit status 0'.format(name)
        assert 'Running on CPU (fp32, 1 threads)' in (logs / (name + '.log')).read_text()
        for record in RECORDS:
            with open(str(results / name / (record + '.yaml'))) as f:
                evaluation = yaml.safe_load(f)
            say(capsys, 'record {}/{}.yaml: {} {} accuracy {} on {} images'.format(
                name, record, evaluation['dataset'], evaluation['split'],
                evaluation['accuracy'], evaluation['images']))
            assert evaluation['dataset'] == ('usps1800' if name.startswith('mnist') else
                                             'mnist2000')
    assert states[0] == {0: ('COMPLETED', '0:0'), 1: ('COMPLETED', '0:0')}
    assert list(states[1].values()) == [('COMPLETED', '0:0')]
    report_out = (logs / 'report-{}.out'.format(report)).read_text()
    say(capsys, *['report-{}.out: {}'.format(report, line) for line in report_out.splitlines()])
    assert 'finished: mnist-usps-seed7-it20+20' in report_out
    assert 'finished: usps-mnist-seed7-it20+20' in report_out
    # Short runs are not results beside the paper's: the report names them apart.
    table = (results / 'results.md').read_text()
    rows = [line for line in table.splitlines() if '| ADDA |' in line]
    assert rows and all(row.rstrip().endswith('| 0 |') for row in rows), table
    note = [line for line in table.splitlines() if line.startswith('Not in the table')]
    assert len(note) == 1, table
    for name in ('mnist-usps-seed7-it20+20', 'usps-mnist-seed7-it20+20'):
        assert '{} (other settings: source 20 + adaptation 20 iterations)'.format(name) in note[0]
    assert (results / 'results.png').is_file()
