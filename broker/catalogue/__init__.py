"""The catalogue of pretrained models `mmbroker download` fetches (`models.toml` beside this file)."""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BrokerError

CATALOGUE_FILE = Path(__file__).with_name("models.toml")


@dataclass(frozen=True)
class ModelFile:
    name: str
    url: str
    size: int | None = None  # bytes, where the publisher states them
    size_mb: float | None = None  # torchvision states MB with three decimals: a check within 1 kB
    digest: str = ""  # "sha256:<hex>", "sha256-prefix:<hex>", "sha1:<hex>", "md5:<hex>", or "" (unverified)

    @property
    def algorithm(self) -> str:
        return self.digest.partition(":")[0]

    @property
    def expected(self) -> str:
        return self.digest.partition(":")[2].lower()

    def verification(self) -> str:
        return {"": "unverified", "sha256-prefix": "sha256 prefix"}.get(self.algorithm, self.algorithm)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "size": self.size,
            "size_mb": self.size_mb,
            "digest": self.digest or None,
            "verification": self.verification(),
        }


@dataclass(frozen=True)
class Entry:
    framework: str
    name: str
    description: str
    home: str
    licence: str
    input: list[int]
    preprocessing: dict[str, Any]
    files: list[ModelFile]
    save_as: str = ""
    assemble: dict[str, str] = field(default_factory=dict)
    note: str = ""

    @property
    def key(self) -> str:
        return f"{self.framework}/{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "name": self.name,
            "description": self.description,
            "home": self.home,
            "licence": self.licence,
            "input": self.input,
            "preprocessing": self.preprocessing,
            "files": [f.to_dict() for f in self.files],
            "assemble": self.assemble or None,
            "note": self.note,
        }


def load(path: Path = CATALOGUE_FILE) -> list[Entry]:
    data = tomllib.loads(path.read_text())
    entries = []
    for fw, models in data.items():
        for name, e in models.items():
            files = [ModelFile(**f) for f in e["files"]]
            known = {"description", "home", "licence", "input", "preprocessing", "files", "save_as", "assemble", "note"}
            unknown = set(e) - known
            if unknown:
                raise BrokerError(
                    f"catalogue entry {fw}.{name} has unknown keys {sorted(unknown)}",
                    reference="internal-bug",
                    file=str(path),
                    hint="fix models.toml",
                )
            entries.append(Entry(framework=fw, name=name, files=files, **{k: v for k, v in e.items() if k != "files"}))
    return entries


def framework_key(name: str) -> str:
    """MMdnn's framework names (`keras`, `tf`, `pytorch`...) as the catalogue's sections: Keras
    applications are listed under keras, TF-slim checkpoints under tensorflow."""
    low = name.strip().lower()
    return {"tf": "tensorflow", "torch": "pytorch", "mx": "mxnet"}.get(low, low)


def frameworks(entries: list[Entry]) -> list[str]:
    return sorted({e.framework for e in entries})


def for_framework(entries: list[Entry], framework: str | None) -> list[Entry]:
    if not framework:
        return entries
    fw = framework_key(framework)
    found = [e for e in entries if e.framework == fw]
    if not found:
        known = frameworks(entries)
        raise BrokerError(
            f"the catalogue has no {framework} models",
            reference="bad-option",
            hint=f"frameworks in the catalogue: {', '.join(known)}",
        )
    return found


def find(entries: list[Entry], name: str, framework: str | None = None) -> Entry:
    """The entry called `name` (optionally within a framework); an unknown name lists the closest."""
    pool = for_framework(entries, framework)
    for e in pool:
        if name in (e.name, e.key):
            return e
    names = [e.name for e in pool]
    close = difflib.get_close_matches(name, names, n=4, cutoff=0.5)
    where = f" for {framework}" if framework else ""
    raise BrokerError(
        f"no model {name!r} in the catalogue{where}",
        reference="bad-option",
        hint=(f"closest: {', '.join(close)}; " if close else "")
        + "list them with: mmbroker download"
        + (f" -f {framework}" if framework else ""),
    )
