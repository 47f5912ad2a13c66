"""tests/ascend_910_ops.txt: it parses, every entry cites a source its header defines, every
source is a URL that some entry cites, and every entry is a real TensorFlow op type."""
import os
import re

import pytest

from ascend_ops import read_allow_list, read_sources
from conftest import ROOT

# The Ascend runtime only (TensorFlow 1.15): conftest.belongs_here.
pytestmark = pytest.mark.ascend

ALLOW_LIST = os.path.join(ROOT, 'tests', 'ascend_910_ops.txt')
URL = re.compile(r'https?://[^\s/]+\.[^\s/]+/\S*$')


def test_allow_list_parses_and_cites_defined_sources():
    entries, sources = read_allow_list(ALLOW_LIST), read_sources(ALLOW_LIST)
    assert entries and sources
    for op_type, (numbers, note) in entries.items():
        assert numbers, op_type
        undefined = [n for n in numbers if n not in sources]
        assert not undefined, '{} cites undefined source(s) {}'.format(op_type, undefined)
        assert note, op_type


def test_every_source_is_a_url_with_a_title_and_is_cited():
    entries, sources = read_allow_list(ALLOW_LIST), read_sources(ALLOW_LIST)
    for n, (url, title) in sources.items():
        assert URL.match(url), '[{}] is not a URL: {!r}'.format(n, url)
        assert title, '[{}] has no title'.format(n)
    cited = {n for numbers, _ in entries.values() for n in numbers}
    assert set(sources) <= cited, 'sources no entry cites: {}'.format(sorted(set(sources) - cited))


def test_entries_are_sorted_real_op_types():
    from adda.compat import tf
    op_types = list(read_allow_list(ALLOW_LIST))
    assert op_types == sorted(op_types)
    unknown = [name for name in op_types if not hasattr(tf.raw_ops, name)]
    assert not unknown, 'not TensorFlow op types: {}'.format(unknown)


def test_agrees_with_the_graph_contract_reader():
    """tests/test_ascend_graphs.py reads the first word of each non-comment line."""
    with open(ALLOW_LIST, encoding='utf-8') as f:
        first_words = {line.split()[0] for line in f if line.strip() and not line.startswith('#')}
    assert first_words == set(read_allow_list(ALLOW_LIST))


def write(tmp_path, text):
    path = tmp_path / 'ops.txt'
    path.write_text(text, encoding='utf-8')
    return str(path)


def test_reader_returns_numbers_and_notes(tmp_path):
    path = write(tmp_path, '# [1] https://example.org/a  Page A (read 2026-11-27)\n'
                           '# [2] https://example.org/b  Page B\n'
                           '# a comment\n\n'
                           'Conv2D  [1]  tf.nn.conv2d\n'
                           'MatMul  [1, 2]  tf.matmul\n')
    assert read_sources(path) == {1: ('https://example.org/a', 'Page A (read 2026-11-27)'),
                                  2: ('https://example.org/b', 'Page B')}
    assert read_allow_list(path) == {'Conv2D': ((1,), 'tf.nn.conv2d'),
                                     'MatMul': ((1, 2), 'tf.matmul')}


@pytest.mark.parametrize('text, problem', [
    ('Conv2D  tf.nn.conv2d\n', 'not an entry'),
    ('Conv2D  [1]\n', 'not an entry'),
    ('Conv2D  [one]  tf.nn.conv2d\n', 'not an entry'),
    ('Conv2D  [1]  tf.nn.conv2d\nConv2D  [1]  again\n', 'listed twice'),
])
def test_reader_names_the_file_and_line_of_a_bad_entry(tmp_path, text, problem):
    path = write(tmp_path, '# [1] https://example.org/a  Page A\n' + text)
    with pytest.raises(ValueError) as caught:
        read_allow_list(path)
    assert problem in str(caught.value) and path in str(caught.value)


def test_reader_rejects_a_source_defined_twice(tmp_path):
    path = write(tmp_path, '# [1] https://example.org/a  A\n# [1] https://example.org/b  B\n')
    with pytest.raises(ValueError) as caught:
        read_sources(path)
    assert 'defined twice' in str(caught.value) and ':2:' in str(caught.value)
