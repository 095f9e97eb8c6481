"""Input shapes read from the INPUTS list of generated PyTorch code, as a literal, never run."""

from __future__ import annotations

import pytest

from broker.code_inputs import declared_inputs

pytestmark = pytest.mark.unit

HEAD = '"""generated"""\nimport torch\n\n'


def write(tmp_path, text: str, name: str = "net") -> str:
    (tmp_path / f"{name}.py").write_text(HEAD + text)
    pth = tmp_path / f"{name}.pth"
    pth.write_bytes(b"weights")
    return str(pth)


def test_the_class_file_beside_the_weights_or_given_declares_them(tmp_path):
    pth = write(tmp_path, "INPUTS = [('data', (-1, 3, 224, 224), 'float32'), ('ids', (2, 7), 'int64')]\n")
    expected = [("data", [None, 3, 224, 224], "float32"), ("ids", [2, 7], "int64")]
    assert declared_inputs([pth]) == expected
    assert declared_inputs([pth, str(tmp_path / "net.py")]) == expected
    assert declared_inputs([str(tmp_path / "net.pt2")]) is None  # not a state_dict with a class file


@pytest.mark.parametrize(
    "text",
    [
        "X = 1\n",  # no INPUTS
        "INPUTS = []\n",
        "INPUTS = [('data', (1, 3), 'complex')]\n",
        "INPUTS = [('data', (0, 3), 'float32')]\n",
        "INPUTS = [('data', (1, True), 'float32')]\n",
        "INPUTS = [('', (1, 3), 'float32')]\n",
        "INPUTS = [('data', (1, 3))]\n",
        "INPUTS = make_inputs()\n",
        "def f(:\n",  # not Python
    ],
)
def test_anything_else_declares_nothing(tmp_path, text):
    assert declared_inputs([write(tmp_path, text)]) is None


def test_the_code_is_not_run(tmp_path):
    marker = tmp_path / "ran"
    text = f"open({str(marker)!r}, 'w').close()\nINPUTS = [('x', [1, __import__('os').getpid()], 'float32')]\n"
    assert declared_inputs([write(tmp_path, text)]) is None and not marker.exists()
