"""MIL while_loop -> ONNX Loop, and scatter (mode update, the form a loop writes its steps with)
-> ScatterND.

A while_loop has a condition block and a body block over the loop variables; ONNX's Loop takes a
first condition and a body that computes the next one. So the condition block is translated twice:
on the initial values (before the Loop) and on the body's results (inside the body graph), its
values renamed each time so that no name is assigned twice."""

import numpy as np
from onnx import TensorProto, helper

from ..common import FROM_MIL
from ..read import value_info


def _condition(ctx, block, values, prefix):
    """The condition block translated into ctx on `values` (IR names of the loop variables); the
    IR name of its boolean result."""
    renamed = {v.name: n for v, n in zip(block.inputs, values)}
    for op in block.operations:
        for var in op.outputs:
            renamed[var.name] = prefix + var.name
    inner = ctx.nested(renamed)
    inner.translate(block.operations)
    ctx.nodes.extend(inner.nodes)
    return inner.input_var(block.outputs[0])


@FROM_MIL.register("while_loop")
def while_loop(op, ctx):
    cond_block, body_block = op.blocks
    out = ctx.out(op)
    initial = [ctx.input_var(v) for v in op.inputs["loop_vars"]]
    first = _condition(ctx, cond_block, initial, out + "__cond0__")
    carried = [out + "__in_" + v.name for v in body_block.inputs]
    body = ctx.nested({v.name: n for v, n in zip(body_block.inputs, carried)})
    body.translate(body_block.operations)
    results = [body.input_var(v) for v in body_block.outputs]
    again = _condition(body, cond_block, results, out + "__cond__")
    graph_out = [out + "__out_%d" % i for i in range(len(results))]
    for given, name in zip(results, graph_out):
        body.node("Identity", [given], [name])
    scalar = ctx.const(out + "__scalar", np.zeros(0, np.int64))
    body.node("Reshape", [again, scalar], [out + "__cond_out"])
    graph = helper.make_graph(
        body.nodes,
        out + "__body",
        [helper.make_tensor_value_info(out + "__iter", TensorProto.INT64, []),
         helper.make_tensor_value_info(out + "__cond_in", TensorProto.BOOL, [])]
        + [value_info(n, v) for n, v in zip(carried, body_block.inputs)],
        [helper.make_tensor_value_info(out + "__cond_out", TensorProto.BOOL, [])]
        + [value_info(n, v) for n, v in zip(graph_out, body_block.outputs)],
    )  # fmt: skip
    first = ctx.node("Reshape", [first, scalar], [out + "__cond0"])
    ctx.node("Loop", ["", first] + initial, [ctx.out(op, i) for i in range(len(op.outputs))], body=graph)


@FROM_MIL.register("scatter")
def scatter(op, ctx):
    """scatter along axis 0 in mode update: ONNX's ScatterND with indices [k, 1]."""
    if str(ctx.val(op, "mode", "add")) != "update" or int(ctx.val(op, "axis", 0)) != 0:
        raise ctx.fail("scatter is translated along axis 0 in mode update only")
    out = ctx.out(op)
    indices = ctx.node("Cast", [ctx.input(op, "indices")], [out + "__indices64"], to=7)
    column = ctx.node("Unsqueeze", [indices, ctx.const(out + "__last", np.array([-1], np.int64))],
                     [out + "__indices"])  # fmt: skip
    ctx.node("ScatterND", [ctx.input(op, "data"), column, ctx.input(op, "updates")], [out])
