"""MMdnn's programs without a runner: entry points, flags, and the step files' names (the runs
themselves are in tests/per_runner/test_mmdnn_seeds.py)."""

from __future__ import annotations

import io
import tomllib
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from broker.cli import mmdnn
from broker.errors import BrokerError
from broker.step_files import code_weights, resolve_ir

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = ["mmconvert", "mmtoir", "mmtocode", "mmtomodel", "mmdownload", "mmvismeta"]


def run(program, argv):
    from broker.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(lambda: program(argv))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_console_scripts_are_declared():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for name in PROGRAMS:
        module, _, func = scripts[name].partition(":")
        assert module == "broker.cli.mmdnn" and callable(getattr(mmdnn, func)), name


@pytest.mark.parametrize("program", [mmdnn.convert, mmdnn.toir, mmdnn.tocode, mmdnn.tomodel])
def test_help_says_weights_stay_pickle_free(program):
    code, out, _ = run(program, ["--help"])
    assert code == 0 and "pickle-free" in " ".join(out.split())


def test_mmdnn_flags_parse_as_mmdnn_wrote_them():
    code, _, err = run(mmdnn.tocode, ["-f", "pytorch", "-d", "x.py"])  # -n missing: argparse's usage error
    assert code == 2 and "--IRModelPath/-n/-in" in err
    code, _, err = run(mmdnn.tomodel, ["-f", "pytorch", "-n", "x.py", "-o", "x.pth", "--dump_tag", "TRAINING"])
    assert code == 1 and "bad-option" in err
    code, _, err = run(mmdnn.tocode, ["-f", "pytorch", "-n", "x.pb", "-d", "x.py", "--phase", "train"])
    assert code == 1 and "--phase train" in err


def test_input_shapes():
    shapes = mmdnn.input_shapes(["3,224,224"], None)
    assert [(s.name, s.shape) for s in shapes] == [("", [3, 224, 224])]
    shapes = mmdnn.input_shapes(["3", "224", "224"], None)  # MMdnn's first form: one shape, separate integers
    assert [s.shape for s in shapes] == [[3, 224, 224]]
    shapes = mmdnn.input_shapes(["1,8", "1,3,4,4"], ["ids", "image"])
    assert [(s.name, s.shape) for s in shapes] == [("ids", [1, 8]), ("image", [1, 3, 4, 4])]
    with pytest.raises(BrokerError, match="2 input node name"):
        mmdnn.input_shapes(["1,8"], ["a", "b"])


def test_ir_weights_found_from_mmdnn_names(tmp_path):
    (tmp_path / "converted.pb").write_bytes(b"")
    np.savez(tmp_path / "converted.npz", w=np.zeros(2))
    ir = resolve_ir(tmp_path / "converted.pb", tmp_path / "converted.npy")
    assert ir.weights == tmp_path / "converted.npz"
    assert resolve_ir(tmp_path / "converted.pb", None).weights == tmp_path / "converted.npz"
    with pytest.raises(BrokerError) as err:
        resolve_ir(tmp_path / "converted.pb", tmp_path / "other.npy")
    assert err.value.reference == "missing-file"
    np.save(tmp_path / "mmdnn.npy", np.array([{"conv": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(BrokerError) as err:
        resolve_ir(tmp_path / "converted.pb", tmp_path / "mmdnn.npy")
    assert err.value.reference == "unsafe-model"


def test_code_weights_given_as_the_ir_weights(tmp_path):
    """MMdnn's CNTK and Keras seeds dump with the IR weights: the weights written beside the code are used."""
    (tmp_path / "converted.pb").write_bytes(b"")
    np.savez(tmp_path / "converted.npz", w=np.zeros(2))
    code = tmp_path / "converted_cntk.py"
    code.write_text("")
    with pytest.raises(BrokerError, match="converted_cntk.npz is not beside it"):
        code_weights("cntk", code, tmp_path / "converted.npy")
    np.savez(tmp_path / "converted_cntk.npz", w=np.zeros(2))
    used, note = code_weights("cntk", code, tmp_path / "converted.npy")
    assert used == tmp_path / "converted_cntk.npz" and "IR weights" in note
    own = tmp_path / "any_name.npy"
    own.write_bytes((tmp_path / "converted_cntk.npz").read_bytes())
    assert code_weights("cntk", code, own) == (own, "")  # weights named otherwise are taken as given
    with pytest.raises(BrokerError, match="one step"):
        code_weights("onnx", code, own)


def test_pickled_mmdnn_weights_are_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save("converted.npy", np.array([{"conv": 1}], dtype=object), allow_pickle=True)  # MMdnn's IR weights
    Path("converted.pb").write_bytes(b"")
    code, _, err = run(mmdnn.tocode, ["-f", "pytorch", "-n", "converted.pb", "-w", "converted.npy", "-d", "x.py"])
    assert code == 1 and "unsafe-model" in err and not Path("x.py").exists()


def test_place_together_leaves_the_old_files_when_one_copy_fails(tmp_path):
    from broker.step_files import place_together

    src = tmp_path / "code.py"
    src.write_text("new code")
    old = tmp_path / "out" / "x.py"
    old.parent.mkdir()
    old.write_text("old code")
    with pytest.raises(FileNotFoundError):
        place_together([(src, old), (tmp_path / "missing.pth", tmp_path / "out" / "x.pth")])
    assert old.read_text() == "old code" and sorted(p.name for p in old.parent.iterdir()) == ["x.py"]
    place_together([(src, old), (src, tmp_path / "out" / "x.pth")])
    assert old.read_text() == "new code" and (tmp_path / "out" / "x.pth").is_file()
