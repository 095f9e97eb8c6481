"""The step-by-step commands' files under the names the user gives them (MMdnn's way).

MMdnn's steps name every file: `mmtocode -d converted_pytorch.py -dw converted_pytorch.npy` writes
the code and the target's weights exactly there, and `mmtomodel -in converted_pytorch.py -iw
converted_pytorch.npy` reads them back. The runners write and read their own names (`<name>.py`
beside `<name>.pth`, a Caffe `.prototxt` beside its `.caffemodel`), so the files are emitted into the
session's workspace and copied to the given names, and read back by copying them into the
workspace under the runner's names. The names change nothing about the formats: IR weights are an
`.npz` read with `allow_pickle=False`, a target's weights are its own non-executable format (a
PyTorch state_dict read with `weights_only=True`, MXNet `.params`, an `.npz`, a `.caffemodel`),
whatever the file is called.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from runners.common.tensors import file_ref

from .errors import BrokerError
from .ir import IRFiles
from .outputs import StagedOutput, check_output, set_default_mode
from .pipeline import Session

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class TargetFiles:
    """What a runner's Emit writes and its Save reads: the code's and the weights' suffix and role."""

    code_suffix: str
    weights_suffix: str
    weights_role: str


TARGETS = {
    "pytorch": TargetFiles(".py", ".pth", "state_dict"),
    "mxnet": TargetFiles(".py", ".params", "params"),
    "tensorflow": TargetFiles(".py", ".npz", "weights"),
    "cntk": TargetFiles(".py", ".npz", "weights"),
    "caffe": TargetFiles(".prototxt", ".caffemodel", "weights"),
}


def _magic(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(6)


def _refuse_pickled_npy(path: Path, what: str) -> None:
    """MMdnn's `.npy` weights are a pickled dict: never loaded, whatever runs next."""
    if path.is_file() and _magic(path) == _NPY_MAGIC:
        raise BrokerError(
            f"{what} is a NumPy .npy file (MMdnn's pickled weights dict); mmbroker does not unpickle weights",
            reference="unsafe-model",
            file=str(path),
            hint="convert the source model again with mmtoir: it writes the IR as <name>.pb + <name>.npz",
        )


def resolve_ir(graph: Path, weights: Path | None) -> IRFiles:
    """IR files from MMdnn's arguments: `-n x.pb -w x.npy` finds `x.npz`, the weights `toir` wrote
    under that stem; no `-w` means the `.npz` beside the graph."""
    ir = IRFiles.for_stem(Path(graph))
    if weights is None:
        return ir
    weights = Path(weights)
    if weights.is_file() and _magic(weights)[:4] == _ZIP_MAGIC:
        return IRFiles(ir.graph, weights, ir.summary)
    _refuse_pickled_npy(weights, str(weights))
    stem_npz = weights.with_suffix(".npz")
    if stem_npz.is_file():
        return IRFiles(ir.graph, stem_npz, ir.summary)
    raise BrokerError(
        f"IR weights not found: neither {weights} nor {stem_npz}",
        reference="missing-file",
        file=str(weights),
        hint="give the weights mmtoir wrote (<name>.npz, or <name>.npy for the same stem)",
    )


def target_files(framework: str, command: str) -> TargetFiles:
    files = TARGETS.get(framework)
    if files is None:
        raise BrokerError(
            f"{command} -f {framework}: {framework} models are written in one step, not as code and weights",
            reference="bad-option",
            framework=framework,
            hint=f"use mmconvert -df {framework}, or mmtomodel -f {framework} -in <IR>.pb -iw <IR>.npz -o <model>",
        )
    return files


def write_code(
    session: Session, framework: str, ir: IRFiles, code: Path, weights: Path | None = None
) -> tuple[Path, Path | None]:
    """Emit `framework` code from the IR and write it to `code`, its weights to `weights` (default:
    beside the code, the target's own suffix). For targets whose Emit writes the model itself
    (ONNX, CoreML), `code` receives the readable listing and `weights` the model."""
    check_output(code)
    if weights is not None:
        check_output(weights)
    emit_dir = session.ws / "tocode"
    emitted = session.tocode(framework, ir, emit_dir, name=code.stem)
    code_refs = [f for f in emitted if f.role == "code"]
    other = [f for f in emitted if f.role != "code"]
    if len(code_refs) != 1 or len(other) > 1:
        raise BrokerError(
            f"the {framework} runner wrote {[Path(f.path).name for f in emitted]}: expected code and one weights file",
            reference="internal-bug",
            framework=framework,
            hint="report this bug",
        )
    pairs = [(Path(code_refs[0].path), code)]
    if other:
        src_weights = Path(other[0].path)
        pairs.append((src_weights, weights if weights is not None else code.with_name(code.stem + src_weights.suffix)))
    place_together(pairs)
    return code, pairs[1][1] if other else None


def place_together(pairs: list[tuple[Path, Path]]) -> None:
    """Copy each source file to its destination, all of them or none: every copy is made beside its
    destination first, then the copies are renamed into place (a failure removes them, the files
    already there keep their bytes)."""
    staged: list[tuple[Path, Path]] = []
    try:
        for src, dest in pairs:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
            os.close(fd)
            staged.append((Path(name), dest))
            shutil.copyfile(src, name)
        for part, target in staged:
            os.replace(part, target)
            set_default_mode(target)
    finally:
        for part, _ in staged:
            part.unlink(missing_ok=True)


def is_ir_weights(path: Path) -> bool:
    """An IR weights file: the `.npz` mmtoir wrote, with its graph `.pb` beside it."""
    npz = path if path.suffix == ".npz" else path.with_suffix(".npz")
    return npz.is_file() and npz.with_suffix(".pb").is_file()


def code_weights(framework: str, code: Path, weights: Path | None) -> tuple[Path, str]:
    """The weights that go with generated `code`, and a note when they are not the file given:
    `-iw` naming the IR weights (as MMdnn's CNTK, Keras and TensorFlow seeds do, whose generated
    code read the IR weights) means the weights mmtocode wrote beside the code for it."""
    files = target_files(framework, "mmtomodel")
    beside = code.with_name(code.stem + files.weights_suffix)
    if weights is not None and weights.is_file() and not (is_ir_weights(weights) and beside.is_file()):
        _refuse_pickled_npy(weights, f"the weights {weights}")
        return weights, ""
    if weights is not None and not weights.is_file() and not is_ir_weights(weights):
        raise BrokerError(
            "weights file not found",
            reference="missing-file",
            file=str(weights),
            hint="give the weights mmtocode wrote (its -dw), or leave -iw out to use the file beside the code",
        )
    if not beside.is_file():
        raise BrokerError(
            f"no weights for {code.name}: {beside.name} is not beside it",
            reference="missing-file",
            file=str(beside),
            hint=f"write code and weights with mmtocode -f {framework} -d {code} (and -dw to name the weights)",
        )
    note = f"{weights} are the IR weights; the weights written for {code.name} are {beside}" if weights else ""
    return beside, note


def save_from_code(session: Session, framework: str, code: Path, weights: Path, output: Path) -> list[str]:
    """Build the native model from generated code and its weights (any names), staged beside
    `output` and put in place when saved."""
    files = target_files(framework, "mmtomodel")
    for p in (code, weights):
        if not p.is_file():
            raise BrokerError("file not found", reference="missing-file", file=str(p))
    inbox = session.ws / "tomodel"
    inbox.mkdir(parents=True, exist_ok=True)
    staged_code = inbox / ("model" + files.code_suffix)
    staged_weights = inbox / ("model" + files.weights_suffix)
    shutil.copyfile(code, staged_code)
    shutil.copyfile(weights, staged_weights)
    refs = [file_ref(str(staged_code), "code"), file_ref(str(staged_weights), files.weights_role)]
    return save_staged(session, framework, refs, output)


def save_staged(session: Session, framework: str, emitted: list, output: Path, fmt: str = "") -> list[str]:
    check_output(output)
    say = session.console.print if session.console is not None else None
    with StagedOutput(output, say=say) as stage:
        saved = stage.saved(session.tomodel(framework, emitted, stage.path, fmt))
        stage.promote()
        return [stage.final(f) for f in saved]


def save_from_ir(session: Session, framework: str, ir: IRFiles, output: Path) -> list[str]:
    """IR straight to a native model (MMdnn's `mmtomodel -f coreml -in x.pb -iw x.npy -o x.mlmodel`)."""
    check_output(output)
    fmt = output.suffix.lstrip(".").lower()
    emitted = session.tocode(
        framework, ir, session.ws / "tomodel_code", name=output.stem, options={"format": fmt} if fmt else None
    )
    return save_staged(session, framework, emitted, output, fmt)
