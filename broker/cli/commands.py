"""Imports every command module so that its commands register on the root app."""

import importlib
import pkgutil

from . import __name__ as _pkg

for _info in pkgutil.iter_modules(__path__ if False else importlib.import_module(_pkg).__path__):
    if _info.name.startswith("cmd_"):
        importlib.import_module(f"{_pkg}.{_info.name}")
