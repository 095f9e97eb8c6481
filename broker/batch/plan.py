"""A batch plan: models (source framework, files, convert options) x targets, read from YAML or TOML.

```yaml
targets: [onnx, pytorch]
options: {seed: 1}                       # optional, for every model
models:
  - name: unet
    source: pytorch
    files: [unet.pt2]                    # relative to the plan file
    options: {inputShape: "1,3,32,32"}   # any convert option, optional
runners:                                 # optional: frameworks served by `mmbroker runner serve`
  coreml: {address: "grpcs://mac:7443", tls_ca: ca.pem, tls_cert: client.pem, tls_key: client.key}
```
Each (model, target) is a cell; its digest covers what decides its result (the model files'
sha256, source, target, options, the address of a remote runner it uses, mmbroker's version), so a
finished cell with the same digest is not run again."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import BrokerError
from ..frameworks import runner_name
from ..pipeline import CONVERT_OPTIONS
from ..remote import RemoteSpec, parse_spec

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
# the file a target writes, by the runner's first written format
_OUTPUT = {"mxnet": "{name}-symbol.json", "tensorflow": "{name}.keras", "pytorch": "{name}.pth", "onnx": "{name}.onnx",
           "caffe": "{name}.prototxt", "coreml": "{name}.mlmodel", "cntk": "{name}.model"}  # fmt: skip


@dataclass
class PlanModel:
    name: str
    source: str  # runner name
    files: list[Path]  # absolute
    options: dict[str, Any] = field(default_factory=dict)
    option_files: dict[str, Path] = field(default_factory=dict)  # files named by options: travel with the files


@dataclass
class Cell:
    model: PlanModel
    target: str
    digest: str = ""
    served: list[str] = field(default_factory=list)  # its frameworks that a remote runner serves

    @property
    def key(self) -> str:
        return f"{self.model.name}/{self.target}"

    @property
    def output_name(self) -> str:
        return _OUTPUT.get(self.target, "{name}." + self.target).format(name=self.model.name)


@dataclass
class Plan:
    path: Path
    targets: list[str]
    models: list[PlanModel]
    runners: dict[str, RemoteSpec] = field(default_factory=dict)  # framework -> its remote runner

    def cells(self) -> list[Cell]:
        """Every (model, target) pair, model by model, each with its digest."""
        digests = {m.name: [file_digest(f) for f in [*m.files, *m.option_files.values()]] for m in self.models}
        found = []
        for m in self.models:
            for t in self.targets:
                served = {fw: self.runners[fw].address for fw in dict.fromkeys((m.source, t)) if fw in self.runners}
                found.append(Cell(m, t, cell_digest(m, t, digests[m.name], served), list(served)))
        return found


def _error(plan: Path, message: str, hint: str) -> BrokerError:
    return BrokerError(message, reference="bad-option", file=str(plan), hint=hint)


def read_plan(path: Path) -> Plan:
    """The plan file read and checked: every model has a unique safe name, a known source, files that
    exist (relative to the plan's folder), and only convert's options."""
    if not path.is_file():
        raise BrokerError("plan file not found", reference="missing-file", file=str(path),
                          hint="give a .yaml, .yml or .toml plan (README: Batch conversion)")  # fmt: skip
    data = _load(path)
    if not isinstance(data, dict):
        raise _error(path, "the plan is not a mapping with `targets` and `models`", "see README: Batch conversion")
    targets = data.get("targets")
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
        raise _error(path, "`targets` must be a non-empty list of framework names", "e.g. targets: [onnx, pytorch]")
    shared = data.get("options") or {}
    if not isinstance(shared, dict):
        raise _error(path, "`options` must be a mapping of convert options", "e.g. options: {seed: 1}")
    entries = data.get("models")
    if not isinstance(entries, list) or not entries:
        raise _error(path, "`models` must be a non-empty list", "each model: name, source, files, options")
    models, seen = [], set()
    for i, entry in enumerate(entries):
        model = _model(path, i, entry, shared)
        if model.name in seen:
            raise _error(path, f"two models are named {model.name!r}", "give every model its own name")
        seen.add(model.name)
        models.append(model)
    unique_targets = list(dict.fromkeys(runner_name(t) for t in targets))
    return Plan(path, unique_targets, models, _runners(path, data.get("runners")))


_RUNNER_KEYS = ("address", "tls_ca", "tls_cert", "tls_key", "plaintext_loopback")


def _runners(plan: Path, entries: Any) -> dict[str, RemoteSpec]:
    """`runners: {FRAMEWORK: {address, tls_ca, tls_cert, tls_key}}`: the remote runners the plan's cells
    use, as `--runner` and `--tls-*` give them to convert; the files relative to the plan."""
    if entries is None:
        return {}
    example = "e.g. runners: {coreml: {address: grpcs://HOST:PORT, tls_ca: ca.pem, tls_cert: c.pem, tls_key: c.key}}"
    if not isinstance(entries, dict):
        raise _error(plan, "`runners` must map framework names to remote runners", example)
    found: dict[str, RemoteSpec] = {}
    for fw, entry in entries.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("address"), str):
            raise _error(plan, f"runners.{fw} needs an address", example)
        unknown = sorted(set(entry) - set(_RUNNER_KEYS))
        if unknown:
            raise _error(plan, f"runners.{fw}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
                         f"a remote runner has {', '.join(_RUNNER_KEYS)}")  # fmt: skip
        files: dict[str, Path | None] = {}
        for k in ("tls_ca", "tls_cert", "tls_key"):
            given = (plan.parent / str(entry[k])).resolve() if entry.get(k) else None
            if given is not None and not given.is_file():
                raise BrokerError(f"runners.{fw}: the {k} file is not found", reference="missing-file",
                                  file=str(given), hint="plan files are relative to its folder")  # fmt: skip
            files[k] = given
        try:
            spec = parse_spec(f"{fw}={entry['address']}", files["tls_ca"], files["tls_cert"], files["tls_key"],
                              entry.get("plaintext_loopback") is True)  # fmt: skip
        except BrokerError as err:
            raise _error(plan, f"runners.{fw}: {err.message}", err.hint or example) from None
        if spec.tls and (spec.cert is None) != (spec.key is None):
            raise _error(plan, f"runners.{fw}: tls_cert and tls_key go together", "give both, or neither")
        found[spec.framework] = spec
    return found


def _load(path: Path) -> Any:
    text = path.read_bytes()
    try:
        if path.suffix.lower() == ".toml":
            import tomllib

            return tomllib.loads(text.decode("utf-8"))
        import yaml  # PyYAML, of the `batch` extra

        return yaml.safe_load(text)
    except ImportError:
        raise BrokerError("reading a YAML plan needs PyYAML", reference="missing-dependency", file=str(path),
                          hint="pip install 'mmbroker[batch]', or write the plan in TOML")  # fmt: skip
    except Exception as exc:  # tomllib.TOMLDecodeError, yaml.YAMLError, UnicodeDecodeError
        raise _error(path, f"the plan cannot be read: {exc}", "fix the plan file at the place the message names")


def _model(plan: Path, i: int, entry: Any, shared: dict[str, Any]) -> PlanModel:
    if not isinstance(entry, dict):
        raise _error(plan, f"model {i + 1} is not a mapping", "each model: name, source, files, options")
    name = str(entry.get("name", ""))
    if not _NAME.fullmatch(name):
        raise _error(plan, f"model {i + 1} has no usable name ({name!r})",
                     "names are letters, digits, '.', '_' and '-' (they name the output folders)")  # fmt: skip
    unknown = sorted(set(entry) - {"name", "source", "files", "options"})
    if unknown:
        raise _error(plan, f"model {name!r}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
                     "a model has name, source, files and options")  # fmt: skip
    if not isinstance(entry.get("source"), str):
        raise _error(plan, f"model {name!r} has no source framework", "e.g. source: pytorch")
    files = entry.get("files")
    if isinstance(files, str):
        files = [files]
    if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
        raise _error(plan, f"model {name!r} has no files", "e.g. files: [model.pt2], relative to the plan file")
    paths = [(plan.parent / f).resolve() for f in files]
    for p in paths:
        if not p.is_file():
            raise BrokerError(f"model {name!r}: file not found", reference="missing-file", file=str(p),
                              hint=f"the plan's files are relative to its folder ({plan.parent})")  # fmt: skip
    options = {**shared, **(entry.get("options") or {})}
    bad = sorted(k for k in options if k not in CONVERT_OPTIONS)
    if bad:
        raise _error(plan, f"model {name!r}: unknown convert option{'s' if len(bad) > 1 else ''} {', '.join(bad)}",
                     f"options are convert's long flags without dashes: {', '.join(CONVERT_OPTIONS)}")  # fmt: skip
    for k, kind in (("atol", float), ("rtol", float), ("seed", int)):  # YAML 1.1 reads 1e-3 as text
        if options.get(k) is not None:
            try:
                options[k] = kind(options[k])
            except (TypeError, ValueError):
                raise _error(plan, f"model {name!r}: option {k} is not a number ({options[k]!r})", f"e.g. {k}: 0.001")
    option_files = {}
    for k in ("input", "classInputPath"):  # files named in options: relative to the plan, sent with the model
        if options.get(k) is not None:
            option_files[k] = (plan.parent / str(options.pop(k))).resolve()
            if not option_files[k].is_file():
                raise BrokerError(f"model {name!r}: the {k} file is not found", reference="missing-file",
                                  file=str(option_files[k]), hint="plan files are relative to its folder")  # fmt: skip
    for k in ("report", "codeDir"):  # each cell writes its own in the output folder
        if k in options:
            raise _error(plan, f"model {name!r}: option {k} is set by batch", f"leave {k} out of the plan")
    return PlanModel(name, runner_name(entry["source"]), paths, options, option_files)


def file_digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def cell_digest(model: PlanModel, target: str, file_digests: list[str], served: dict[str, str] | None = None) -> str:
    """sha256 over what decides a cell's result; the file names matter too (a .py class file's name).
    `served`: framework -> address of the remote runner the cell uses (another engine may check it);
    its certificates are left out (renewed ones do not change a result)."""
    data: dict[str, Any] = {
        "files": [[p.name, d] for p, d in zip([*model.files, *model.option_files.values()], file_digests)],
        "file_options": sorted(model.option_files),
        "source": model.source,
        "target": target,
        "options": {k: model.options[k] for k in sorted(model.options)},
        "mmbroker": __version__,
    }
    if served:  # absent when none: the digests of cells run on local runners stay what they were
        data["remote"] = dict(sorted(served.items()))
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
