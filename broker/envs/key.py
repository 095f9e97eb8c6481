"""The environment key: what an environment was built from, hashed.

sha256 over canonical JSON (sorted keys, no spaces) of the framework, the interpreter's full
version, implementation and platform tag, the sorted exact pins, the runner protocol version and a
digest of the spec's install section (installer options, index options, setup hooks). The same
inputs give the same key on every machine; any change gives a new directory, and
`describe_change` says in words what changed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from runners.common import rpc

from .interpreters import Interpreter
from .spec import RunnerSpec

KEY_SCHEMA = 1
DIR_KEY_LENGTH = 12


def key_material(spec: RunnerSpec, interpreter: Interpreter) -> dict[str, Any]:
    return {
        "schema": KEY_SCHEMA,
        "framework": spec.framework,
        "python": interpreter.version,
        "implementation": interpreter.implementation,
        "platform": interpreter.platform,
        "requirements": spec.requirement_lines(),
        "protocol": rpc.PROTOCOL_VERSION,
        "install": spec.install_digest(),
    }


def env_key(material: dict[str, Any]) -> str:
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def env_dirname(framework: str, key: str) -> str:
    return f"{framework}-{key[:DIR_KEY_LENGTH]}"


def _pins(lines: list[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        name, _, version = line.partition("==")
        out[name] = version
    return out


def describe_change(old: dict[str, Any], new: dict[str, Any]) -> str:
    """'python 3.11.7 -> 3.12.1, onnx 1.23.1 -> 1.23.2' — what differs between two key materials."""
    parts: list[str] = []
    if old.get("python") != new.get("python") or old.get("implementation") != new.get("implementation"):
        parts.append(f"python {old.get('python')} -> {new.get('python')}")
    if old.get("platform") != new.get("platform"):
        parts.append(f"platform {old.get('platform')} -> {new.get('platform')}")
    a, b = _pins(old.get("requirements", [])), _pins(new.get("requirements", []))
    for name in sorted(set(a) | set(b)):
        if name not in a:
            parts.append(f"added {name} {b[name]}")
        elif name not in b:
            parts.append(f"removed {name} {a[name]}")
        elif a[name] != b[name]:
            parts.append(f"{name} {a[name]} -> {b[name]}")
    if old.get("protocol") != new.get("protocol"):
        parts.append(f"runner protocol {old.get('protocol')} -> {new.get('protocol')}")
    if old.get("install") != new.get("install"):
        parts.append("install options or setup hooks")
    if old.get("schema") != new.get("schema"):
        parts.append("environment format")
    return ", ".join(parts) or "key"
