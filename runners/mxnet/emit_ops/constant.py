"""Constant: the broker folds constants into initializers; a Constant that is itself a graph
output stays a node, and becomes a parameter returned through an operator named after it."""

import numpy as np

from ..codegen import EMIT


@EMIT.register("Constant")
def constant(node, ctx, value=None, value_float=None, value_floats=None, value_int=None, value_ints=None,
             sparse_value=None, value_string=None, value_strings=None):  # fmt: skip
    if value is not None:
        from onnx import numpy_helper

        array = numpy_helper.to_array(value)
    elif value_float is not None or value_floats is not None:
        array = np.array(value_float if value_float is not None else list(value_floats), dtype=np.float32)
    elif value_int is not None or value_ints is not None:
        array = np.array(value_int if value_int is not None else list(value_ints), dtype=np.int64)
    else:
        raise ctx.fail("a Constant holding strings or a sparse tensor has no MXNet array")
    ctx.assign(node, ctx.call("identity", ctx.param(node.outputs[0], array)))
