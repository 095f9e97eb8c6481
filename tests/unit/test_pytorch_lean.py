"""The check runs generated PyTorch code with each intermediate let go after its last use
(runners/pytorch/lean.py): `del` goes after the last statement that reads a value, never before;
a forward() that is not a straight line of one assignment per name runs as it is."""

from __future__ import annotations

import ast
import textwrap

import pytest

from runners.pytorch.lean import _with_deletes

pytestmark = pytest.mark.unit


def rewrite(src: str) -> str | None:
    fn = ast.parse(textwrap.dedent(src)).body[0]
    out = _with_deletes(fn)
    return None if out is None else ast.unparse(ast.fix_missing_locations(out))


def test_each_value_goes_after_its_last_read():
    got = rewrite("""
        def forward(self, x):
            a = self.conv(x)
            b = self.bn(a)
            c = self.skip(x)
            d = b + c + a
            unused = self.side(d)
            return self.relu(d)
    """)
    lines = [line.strip() for line in got.splitlines()[1:]]
    assert lines == [
        "a = self.conv(x)", "b = self.bn(a)", "c = self.skip(x)", "d = b + c + a", "del a, b, c",
        "unused = self.side(d)", "del unused", "return self.relu(d)",
    ]  # fmt: skip


@pytest.mark.parametrize("body", [
    "for i in range(2):\n        x = x + i\n    return x",  # a loop
    "a = x\n    a = a + 1\n    return a",  # a name assigned twice
    "x = x + 1\n    return x",  # an argument assigned
    "a = x + 1",  # no return
])  # fmt: skip
def test_other_bodies_run_as_written(body):
    assert rewrite(f"def forward(self, x):\n    {body}\n") is None


def test_a_comprehensions_own_variable_is_not_deleted():
    got = rewrite("""
        def forward(self, x):
            a, b = [t.narrow(1, 0, 2) for t in torch.sort(x)]
            return a, b
    """)
    assert "del" not in got and "for t in" in got
