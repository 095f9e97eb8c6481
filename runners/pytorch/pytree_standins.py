"""Stand-ins for output containers a .pt2 names but this environment cannot import.

A program exported from a model that returns a library's own container (transformers'
`ModelOutput` subclasses, a user's dataclass registered with pytree) records the container's
import path in its tree spec; torch.export.load then refuses the file unless that class is
registered here, which would mean installing (and importing) the library that made it. The tree
spec holds nothing but the container's name and its keys as JSON, so a stand-in registered under
the same name rebuilds the outputs exactly: an ordered mapping of the recorded keys. Nothing from
the file is imported or executed; torch's registry is the only thing touched.
"""

import json
import re

_NOT_REGISTERED = re.compile(r"Deserializing (\S+) in pytree is not registered")
_LIMIT = 64  # distinct container types one program may name
_registered = []


class OutputRecord(dict):
    """An exported program's output container, its keys in the recorded order."""

    source_type = ""


def missing_type(exc):
    """The serialized type name torch could not resolve, or None."""
    found = _NOT_REGISTERED.search(str(exc))
    return found.group(1) if found else None


def _context_keys(dumped):
    keys = json.loads(dumped)
    if isinstance(keys, list) and all(isinstance(k, str) for k in keys):
        return keys
    if keys is None:
        return []
    raise ValueError("the output container's keys are not a list of names: %r" % (dumped[:80],))


def register(serialized_name):
    """Register an OutputRecord subclass under serialized_name (once per name)."""
    from torch.utils import _pytree as pytree

    if serialized_name in pytree.SERIALIZED_TYPE_TO_PYTHON_TYPE:
        return False
    if len(_registered) >= _LIMIT:
        return False
    cls = type(serialized_name.rsplit(".", 1)[-1], (OutputRecord,), {"source_type": serialized_name})

    def flatten(record):
        return list(record.values()), list(record.keys())

    def unflatten(values, keys):
        return cls(zip(keys, values))

    pytree.register_pytree_node(
        cls,
        flatten,
        unflatten,
        serialized_type_name=serialized_name,
        to_dumpable_context=json.dumps,
        from_dumpable_context=_context_keys,
    )
    _registered.append(cls)
    return True
