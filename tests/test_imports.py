"""The package's shape: no import cycle in adda/ (imports inside functions included) and one
place that takes an flock."""
import ast
import os

import pytest

from conftest import ROOT

pytestmark = pytest.mark.once


def modules():
    """module name -> its source file, for every module of adda/."""
    found = {}
    for folder, _, files in os.walk(os.path.join(ROOT, 'adda')):
        for name in files:
            if name.endswith('.py'):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path, ROOT)[:-3].split(os.sep)
                found['.'.join(parts[:-1] if parts[-1] == '__init__' else parts)] = path
    return found


def imports(path, known):
    """The modules of ``known`` that the file at ``path`` imports anywhere in it."""
    with open(path) as f:
        tree = ast.parse(f.read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(node.module + '.' + alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in known and name != 'adda'}


def cycles(graph):
    """Each import cycle found by a depth-first walk, as a list of modules."""
    state, stack, found = {}, [], []

    def visit(module):
        state[module] = 'open'
        stack.append(module)
        for other in sorted(graph[module]):
            if state.get(other) == 'open':
                found.append(stack[stack.index(other):] + [other])
            elif other not in state:
                visit(other)
        stack.pop()
        state[module] = 'done'
    for module in sorted(graph):
        if module not in state:
            visit(module)
    return found


def test_no_import_cycle_in_the_package():
    known = modules()
    graph = {name: imports(path, known) - {name} for name, path in known.items()}
    assert cycles(graph) == []
    # the walk finds a cycle when there is one
    assert cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == [['a', 'b', 'c', 'a']]


def test_one_place_takes_an_flock():
    calls = []
    for name, path in modules().items():
        with open(path) as f:
            for node in ast.walk(ast.parse(f.read())):
                if isinstance(node, ast.Call) and getattr(node.func, 'attr', None) == 'flock':
                    calls.append(name)
    assert calls == ['adda.locks']
