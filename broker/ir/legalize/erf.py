"""Erf for targets without an error function (CNTK 2.7, Caffe), so GELU's exact form converts:
Abramowitz & Stegun 7.1.26, erf(x) = sign(x) (1 - t (a1 + t (a2 + t (a3 + t (a4 + t a5)))) e^(-x^2))
with t = 1 / (1 + p |x|), within 1.5e-7 of erf everywhere (float32 rounds 1 to 6e-8), written with
the element-wise ops every target has."""

from __future__ import annotations

import numpy as np
import onnx

from .graph import GraphEditor
from .registry import rewrite

P = 0.3275911
A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


@rewrite("Erf", produces=("Abs", "Mul", "Add", "Reciprocal", "Neg", "Exp", "Sub", "Sign"))
def erf_rational(node: onnx.NodeProto, ed: GraphEditor) -> list | None:
    x, out = node.input[0], node.output[0]
    name = node.name or "erf"
    dtype = onnx.helper.tensor_dtype_to_np_dtype(ed.dtypes.get(x, onnx.TensorProto.FLOAT))
    if dtype.kind != "f":
        return None
    new: list[onnx.NodeProto] = []

    def op(kind: str, inputs: list[str], hint: str) -> str:
        value = ed.fresh(f"{out}_{hint}")
        new.append(ed.node(kind, inputs, [value], f"{name}_{hint}"))
        return value

    def const(hint: str, value: float) -> str:
        return ed.add_const(f"{out}_{hint}", np.array(value, dtype=dtype))

    one = const("one", 1.0)
    scaled = op("Mul", [op("Abs", [x], "abs"), const("p", P)], "scaled")
    t = op("Reciprocal", [op("Add", [scaled, one], "denominator")], "t")
    poly = const("a5", A[4])
    for k in (3, 2, 1, 0):
        poly = op("Add", [op("Mul", [t, poly], f"horner{k}"), const(f"a{k + 1}", A[k])], f"poly{k}")
    poly = op("Mul", [t, poly], "poly")
    gauss = op("Exp", [op("Neg", [op("Mul", [x, x], "square")], "negated")], "gauss")
    magnitude = op("Sub", [one, op("Mul", [poly, gauss], "tail")], "magnitude")
    new.append(ed.node("Mul", [op("Sign", [x], "sign"), magnitude], [out], f"{name}_signed"))
    return new
