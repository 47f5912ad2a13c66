"""Reader of tests/ascend_910_ops.txt, the op types Huawei's documentation says the Ascend 910
supports in TensorFlow 1.15 training graphs, each with the numbered source pages that say so.

Source lines: '# [n] URL  title (read DATE)'. Entries: 'OpType  [n,m,...]  note'. Any other
line starting with '#' is a comment; blank lines are ignored.
"""
import io
import re

SOURCE_LINE = re.compile(r'#\s*\[(\d+)\]\s+(\S+)\s*(.*)$')
ENTRY_LINE = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s+\[(\d+(?:\s*,\s*\d+)*)\]\s+(\S.*)$')


def _lines(path):
    with io.open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            yield number, line.rstrip('\n')


def read_sources(path):
    """The numbered sources of the header: {n: (url, title)}. ValueError on a number defined
    twice."""
    sources = {}
    for number, line in _lines(path):
        match = SOURCE_LINE.match(line)
        if match:
            n = int(match.group(1))
            if n in sources:
                raise ValueError('{}:{}: source [{}] is defined twice'.format(path, number, n))
            sources[n] = (match.group(2), match.group(3).strip())
    return sources


def read_allow_list(path):
    """The entries: {op_type: (source numbers as a tuple of ints, note)}. ValueError naming the
    file and line for a line that is neither a comment nor an entry, or an op type listed twice."""
    entries = {}
    for number, line in _lines(path):
        if not line.strip() or line.startswith('#'):
            continue
        match = ENTRY_LINE.match(line)
        if not match:
            raise ValueError('{}:{}: not an entry "OpType  [n,...]  note": {!r}'.format(
                path, number, line))
        op_type = match.group(1)
        if op_type in entries:
            raise ValueError('{}:{}: op type {} is listed twice'.format(path, number, op_type))
        numbers = tuple(int(n) for n in match.group(2).split(','))
        entries[op_type] = (numbers, match.group(3).strip())
    return entries
