"""The error reference table: every reference the code uses is in it, and docs/errors.md shows it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from broker.error_refs import REFERENCES, render_markdown

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")
# kebab-case strings in broker/ and runners/ that are not error references
NOT_REFERENCES = {
    "apt-get", "dpkg-query", "utf-8", "export-onnx", "brocolli-caffe", "torch-save", "nearest-exact",
    "mmbroker-mpi", "mmbroker-libs", "mmbroker-error-bin", "protobuf-compiler", "index-url", "extra-index-url",
    "find-links", "only-binary", "no-binary", "ir-map", "unsafe-best-match", "latin-1", "parent-watch",
    "sha256-prefix", "mmbroker-client-pid", "call-watch", "onnx-ir", "mmbroker-workspace",
    "mmbroker-workspace-end", "mmbroker-protocol", "mmbroker-sha256", "workspace-reaper",
}  # fmt: skip
NOT_REFERENCE_PATTERNS = [re.compile(r"^lib[a-z0-9-]+-dev$")]


def kebab_literals() -> dict[str, list[str]]:
    """Every kebab-case string literal in broker/ and runners/, with where it is."""
    found: dict[str, list[str]] = {}
    for top in ("broker", "runners"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if path.name == "error_refs.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and KEBAB.match(node.value):
                    found.setdefault(node.value, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_reference_used_is_in_the_table():
    unknown = {
        text: where
        for text, where in kebab_literals().items()
        if text not in REFERENCES
        and text not in NOT_REFERENCES
        and not any(p.match(text) for p in NOT_REFERENCE_PATTERNS)
    }
    assert not unknown, (
        "error references missing from broker/error_refs.py (add them there, or use an existing one that "
        f"asks the user for the same action; add a string that is no reference to NOT_REFERENCES): {unknown}"
    )


def test_the_table_is_used_and_complete():
    used = kebab_literals()
    for ref in REFERENCES.values():
        assert ref.meaning.endswith(".") and ref.hint and not ref.hint.endswith("."), ref
        assert KEBAB.match(ref.name), ref.name
    # references the project's guide names, whether or not code raises them yet
    for name in ("missing-file", "not-a-file", "corrupt-model", "unsafe-model", "unsupported-op",
                 "unsupported-attribute", "bad-shape", "bad-input", "bad-option", "output-not-writable",
                 "env-damaged", "runner-crashed", "internal-bug"):  # fmt: skip
        assert name in REFERENCES
    unused = [r for r in REFERENCES if r not in used]
    assert not unused, f"references in the table that no code raises: {unused}"


def test_docs_errors_md_is_current():
    doc = ROOT / "docs" / "errors.md"
    assert doc.read_text() == render_markdown(), "regenerate: python -m broker.error_refs > docs/errors.md"
