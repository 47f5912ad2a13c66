"""Keeping a run on one device: which platform DEVICE means, CPU core lists (taskset syntax),
the devices of a sweep's jobs, and pinning a run (and the tools it starts) to one of them.
Standard library only: the platform of DEVICE=auto is asked of the tools' interpreter."""
import os
import subprocess

from adda.environment import ROOT, USAGE_STATUS, RunError

PLATFORMS = ('cpu', 'gpu', 'npu')


def parse_cores(text):
    """Cores of a taskset list ('3', '0-3', '0,2,5-6'); ValueError when it is not one."""
    cores = set()
    for part in text.split(','):
        low, _, high = part.partition('-')
        if not low.isdigit() or (high and not high.isdigit()) or (high and int(high) < int(low)):
            raise ValueError(text)
        cores.update(range(int(low), int(high or low) + 1))
    return sorted(cores)


def usable_cores(text):
    """The cores of ``text`` when this process may use every one, else None."""
    try:
        cores = parse_cores(text)
    except ValueError:
        return None
    return cores if set(cores) <= os.sched_getaffinity(0) else None


def platform_of(device, python):
    """cpu, gpu or npu; auto resolved as the tools resolve it (asked of ``python``)."""
    if device in PLATFORMS:
        return device
    if device != 'auto':
        raise RunError('unknown DEVICE {} (choose from auto, cpu, gpu, npu)'.format(device))
    try:
        out = subprocess.run([python, '-c', 'from adda.session import resolve_device; '
                                            'print(resolve_device("auto"))'], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             universal_newlines=True).stdout.strip().splitlines()
    except OSError:
        out = []
    if not out or out[-1] not in PLATFORMS:
        raise RunError('cannot tell which device DEVICE=auto means ({} could not run '
                       'adda.session.resolve_device); set DEVICE to cpu, gpu or npu'.format(
                           python))
    return out[-1]


def pin(device_id, platform, env):
    """Keep this process and the tools it starts (``env``: their environment) on
    ``device_id`` of ``platform``."""
    if platform == 'npu':
        if not device_id.isdigit():
            raise RunError('PIN_DEVICE={} is not an NPU id (0, 1, ...)'.format(device_id),
                           USAGE_STATUS)
        env.update(ASCEND_DEVICE_ID=device_id, DEVICE_ID=device_id)
    elif platform == 'gpu':
        env['CUDA_VISIBLE_DEVICES'] = device_id
    else:
        cores = usable_cores(device_id)
        if cores is None:
            raise RunError('PIN_DEVICE={} is not a list of cores this process may use '
                           '(taskset -c syntax: 3, 0-3, 0,2)'.format(device_id), USAGE_STATUS)
        os.sched_setaffinity(0, cores)  # the tools inherit it and size their pools from it
        env['OMP_NUM_THREADS'] = str(len(cores))


def check_devices(platform, devices):
    """RunError for a device of DEVICES that is not one of ``platform``."""
    for device in devices:
        if platform == 'npu' and not device.isdigit():
            raise RunError('DEVICES: {} is not an NPU id (0, 1, ...)'.format(device),
                           USAGE_STATUS)
        if platform == 'cpu' and usable_cores(device) is None:
            raise RunError('DEVICES: {} is not a list of cores this process may use (taskset '
                           '-c syntax: 3, 0-3, 0,2)'.format(device), USAGE_STATUS)


def default_devices(platform, jobs):
    """One device per job: ids 0..jobs-1 on the NPU and GPU; on the CPU the cores this process
    may use split into ``jobs`` equal sets (shared when there are more jobs than cores)."""
    if platform != 'cpu':
        return [str(i) for i in range(jobs)]
    cores = sorted(os.sched_getaffinity(0))
    size = max(1, len(cores) // jobs)
    return [','.join(map(str, cores[i * size % len(cores):][:size])) for i in range(jobs)]
