"""What the Slurm test needs from the machine, shared with the test that checks it installs
nothing."""
import shutil

COMMANDS = ('munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol', 'sinfo')
PACKAGES = ('munge', 'slurmctld', 'slurmd', 'slurm-client')


def slurm_missing():
    """None when the Slurm and MUNGE commands are installed, else one line saying what is
    missing and how to install it."""
    missing = [c for c in COMMANDS if not shutil.which(c)]
    if not missing:
        return None
    return 'Slurm and MUNGE are not installed (missing {}); install them with apt-get install ' \
           '{} (as .ci/run does)'.format(', '.join(missing), ' '.join(PACKAGES))
