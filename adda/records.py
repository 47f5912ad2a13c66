"""Records: the YAML files runs leave behind (a task run's run.yaml, a training run's
config.yaml, the evaluation, selection and curve records), in one place.

- ``write_record(path, data)`` writes one whole or not at all (a temporary file beside it,
  flushed and renamed into place), so a reader never sees half a record;
- ``read_record(path, *keys)`` reads one; whatever is wrong with it (unreadable, not YAML, not
  a mapping, without a field the reader needs) is one ``DamagedRecord`` naming the file;
- ``differences(old, new)`` compares two records as data, field by field, over the fields both
  have ('key: old -> new' lines), so that a field added later does not make an older record
  another one.

YAML is imported when a record is read or written, so that modules that only name records
(adda.run before a run starts) import nothing beyond the standard library.
"""
import errno
import os

from adda.errors import AddaError

# How records are laid out: block style with flow-style leaves, keys in the order given.
# The task scripts' run.yaml keeps every field on one line (a long argument list included) and
# writes non-ASCII as it is; the tools' records wrap at 80 columns and escape non-ASCII.
TOOL_STYLE = dict(default_flow_style=None, sort_keys=False)
RUN_STYLE = dict(TOOL_STYLE, width=1 << 20, allow_unicode=True)


class DamagedRecord(AddaError):
    """A record that cannot be read: its path and what is wrong with it (the message is
    '<path>: <problem>')."""

    def __init__(self, path, problem):
        AddaError.__init__(self, '{}: {}'.format(path, problem))
        self.path, self.problem = path, problem


def dump(data, style=TOOL_STYLE):
    """``data`` (a mapping; an OrderedDict keeps its order) as YAML text."""
    import yaml
    return yaml.safe_dump(dict(data) if isinstance(data, dict) else data, **style)


def write_record(path, data, what=None, style=TOOL_STYLE):
    """Write ``data`` as YAML to ``path`` whole or not at all (adda.util.atomic_output: a
    temporary file of this process, flushed, then renamed); a failed write is one AddaError
    naming the file (and a full disk)."""
    from adda.util import write_text
    write_text(path, dump(data, style), what)


def read_record(path, *keys, **options):
    """The YAML mapping in ``path``.

    A DamagedRecord when it cannot be read, is not YAML or not text, is not a mapping (a file
    cut short or overwritten), or lacks one of ``keys``. ``missing_ok=True``: None when there
    is no such file (any other problem is still a DamagedRecord).
    """
    import yaml
    missing_ok = options.pop('missing_ok', False)
    assert not options, 'unknown options: {}'.format(sorted(options))
    try:
        with open(path, encoding='utf-8') as f:
            data = yaml.safe_load(f)
    except (IOError, OSError) as e:
        if missing_ok and e.errno == errno.ENOENT:
            return None
        raise DamagedRecord(path, 'cannot be read ({})'.format(e.strerror or e))
    except yaml.YAMLError as e:
        raise DamagedRecord(path, 'not readable YAML ({})'.format(str(e).splitlines()[0]))
    except UnicodeDecodeError:
        raise DamagedRecord(path, 'not text')
    if not isinstance(data, dict):
        raise DamagedRecord(path, 'not a YAML mapping (truncated or overwritten?)')
    missing = [key for key in keys if key not in data]
    if missing:
        raise DamagedRecord(path, 'has no {}'.format(', '.join(missing)))
    return data


def read_number(path, key='accuracy'):
    """The number a record holds under ``key`` (a float); DamagedRecord when it has none."""
    value = read_record(path, key)[key]
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DamagedRecord(path, '{} {!r} is not a number'.format(key, value))


def show(value):
    """A value as one line of YAML flow style ('[a, b]', 'true', 'null', '1.0e-05')."""
    import yaml
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 20).strip()
    return text[:-len('\n...')].strip() if text.endswith('\n...') else text


def differences(old, new, keys=None, same=None, describe=None):
    """['key: old -> new'] for each field of ``new`` (or each of ``keys``) that ``old`` also
    has and whose values differ: a field that came after ``old`` was written does not make
    it another record.

    ``same(key, a, b)`` decides equality (default ==); ``describe(key, a, b)`` makes the line
    (default 'key: a -> b' in YAML flow style).
    """
    lines = []
    for key in (list(new) if keys is None else keys):
        if key not in old or key not in new:
            continue
        a, b = old[key], new[key]
        if (same(key, a, b) if same is not None else a == b):
            continue
        lines.append(describe(key, a, b) if describe is not None else
                     '{}: {} -> {}'.format(key, show(a), show(b)))
    return lines


def exists(folder, name):
    """Whether the record ``name`` (without .yaml) is in ``folder``."""
    return os.path.isfile(os.path.join(folder, name + '.yaml'))
