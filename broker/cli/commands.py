"""Imports every `cmd_*` module of this package so that its commands register on the root app."""

import importlib
import pkgutil

_pkg = importlib.import_module(__package__)
for _info in pkgutil.iter_modules(_pkg.__path__):
    if _info.name.startswith("cmd_"):
        importlib.import_module(f"{__package__}.{_info.name}")
