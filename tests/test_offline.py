"""No download on the Ascend routes (npu_train.sh, and with it modelarts_entry.py and the
harness) nor under ADDA_OFFLINE=1: a missing dataset file is one line naming it and the layout.
A proxy on this machine counts the connections a download would open."""
import os
import socket
import subprocess
import sys
import threading

import pytest

from conftest import ROOT, run_tool_process, write_mnist

# Runtime-independent: one pass of .ci/run runs it (conftest.belongs_here).
pytestmark = pytest.mark.once


@pytest.fixture
def proxy():
    """(environment that sends HTTP(S) through a local listener, list of connections seen)."""
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(8)
    seen = []

    def accept():
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            seen.append(connection.recv(200))
            connection.close()
    threading.Thread(target=accept, daemon=True).start()
    url = 'http://127.0.0.1:{}'.format(server.getsockname()[1])
    yield {'http_proxy': url, 'https_proxy': url, 'HTTP_PROXY': url, 'HTTPS_PROXY': url}, seen
    server.close()


def test_a_tool_downloads_unless_offline(empty_root, tmp_path, proxy):
    """In processes of their own: urllib keeps the proxies of its first use in a process."""
    env, seen = proxy
    args = ['usps', 'train', 'lenet', 'x', '--iterations', 1, '--snapshot_dir', tmp_path]
    offline = run_tool_process('train', *args, env=dict(env, ADDA_OFFLINE='1'))
    assert offline.returncode == 1 and seen == []
    assert offline.stderr.strip().splitlines() == [
        'Error: zip.train.gz is missing from {} (ADDA_OFFLINE=1: no download); put the file '
        'there, as usps/zip.train.gz under the data folder (docs/data.md has the layout), or '
        'set ADDA_DATA_DIR to a folder that holds it'.format(empty_root / 'usps')]
    online = run_tool_process('train', *args, env=env)  # allowed to download: it tries
    assert online.returncode == 1 and seen, online.stderr
    assert not (empty_root / 'usps' / 'zip.train.gz').exists()


def test_npu_train_never_downloads(tmp_path, proxy):
    env, seen = proxy
    data = tmp_path / 'data'
    write_mnist(str(data / 'mnist'), counts=(2000, 100))
    (data / 'usps').mkdir()  # USPS missing
    env = dict(os.environ, PYTHON=sys.executable, ADDA_DEVICE='cpu', ADDA_TASKS='mnist-usps',
               SOURCE_ITERATIONS='2', ADAPT_ITERATIONS='2', PYTHONIOENCODING='utf-8', **env)
    env.pop('ADDA_OFFLINE', None)
    result = subprocess.run(['bash', os.path.join(ROOT, 'npu_train.sh'), ROOT,
                             tmp_path / 'work', data, tmp_path / 'out'], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, timeout=600)
    assert result.returncode == 1, result.stdout[-3000:]
    assert seen == []
    assert 'Error: zip.train.gz is missing from {} (ADDA_OFFLINE=1: no download)'.format(
        data / 'usps') in result.stdout
