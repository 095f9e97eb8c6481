"""Per-framework Python environments: spec, interpreter, key, build, store and doctor.

handle = ensure_env("onnx")                       # builds on first use, then instant
RunnerProcess("onnx", handle.python, env=handle.env_vars)
"""

from .diagnosis import Check, DoctorReport, doctor
from .interpreters import Interpreter, find_interpreter, version_matches
from .key import describe_change, env_key, key_material
from .spec import RunnerSpec, known_frameworks, load_spec, parse_requirements
from .store import EnvHandle, EnvInfo, ensure_env, find_env, list_envs, prune_envs, remove_env

__all__ = [
    "Check",
    "DoctorReport",
    "EnvHandle",
    "EnvInfo",
    "Interpreter",
    "RunnerSpec",
    "describe_change",
    "doctor",
    "ensure_env",
    "env_key",
    "find_env",
    "find_interpreter",
    "key_material",
    "known_frameworks",
    "list_envs",
    "load_spec",
    "parse_requirements",
    "prune_envs",
    "remove_env",
    "version_matches",
]
