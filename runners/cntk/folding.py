"""Constant subgraphs of the IR evaluated at emit time with numpy (onnx 1.11, the last release for
CPython 3.6, has no reference evaluator): the ops exporters leave on constants (weight reshapes,
squeezes, transposes, casts, arithmetic)."""

import numpy as np


def _axes(node, consts, attrs):
    if len(node.inputs) > 1 and node.inputs[1]:
        return [int(a) for a in consts[node.inputs[1]]]
    return attrs.get("axes")


def _squeeze(x, axes):
    return np.squeeze(x, axis=tuple(a % x.ndim for a in axes)) if axes else np.squeeze(x)


def _unsqueeze(x, axes):
    rank = x.ndim + len(axes)
    for a in sorted(a % rank for a in axes):
        x = np.expand_dims(x, a)
    return x


def _reshape(x, shape):
    shape = [x.shape[i] if d == 0 else int(d) for i, d in enumerate(shape)]
    return x.reshape(shape)


BINARY = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide, "Pow": np.power}
UNARY = {"Neg": np.negative, "Sqrt": np.sqrt, "Reciprocal": np.reciprocal, "Exp": np.exp, "Abs": np.abs}


def evaluate(node, consts, attrs):
    """The values of `node`'s outputs when all its inputs are constants, else None."""
    ins = [consts.get(i) for i in node.inputs if i]
    if any(v is None for v in ins) or not ins:
        return None
    op = node.op_type
    x = ins[0]
    if op in BINARY:
        out = BINARY[op](ins[0], ins[1])
        return out.astype(np.result_type(ins[0], ins[1]))
    if op in UNARY:
        return UNARY[op](x)
    if op == "Reshape":
        return _reshape(x, ins[1])
    if op == "Squeeze":
        return _squeeze(x, _axes(node, consts, attrs))
    if op == "Unsqueeze":
        return _unsqueeze(x, _axes(node, consts, attrs))
    if op == "Transpose":
        return np.transpose(x, attrs.get("perm"))
    if op == "Cast":
        from onnx import helper

        return x.astype(helper.tensor_dtype_to_np_dtype(attrs["to"]))
    if op == "Concat":
        return np.concatenate(ins, axis=attrs.get("axis", 0))
    if op == "Flatten":
        axis = attrs.get("axis", 1) % max(x.ndim, 1)
        return x.reshape(int(np.prod(x.shape[:axis])), -1)
    return None
