"""A linear map along one axis: `C.times` by a constant matrix over the axis moved last. With a 0/1
matrix it picks entries (Gather with constant indices, reversed or strided slices, nearest
resizing); with interpolation weights it resizes (linear, cubic)."""

import numpy as np


def along_axis(ctx, expr, name, axis, matrix, key):
    """`expr` (laid out as IR value `name`) with IR axis `axis` mapped by `matrix` [out, in]: output
    entry o is the sum over i of matrix[o, i] * entry i. `key` names the stored matrix."""
    c_axis = ctx.axis(name, axis)
    last = len(ctx.static_dims(name)) - 1
    weights = ctx.weight(key, np.ascontiguousarray(np.asarray(matrix, np.float32).T))
    if c_axis != last:
        expr = ctx.temp(ctx.call("swapaxes", expr, c_axis, last), "axis_last")
    expr = ctx.call("times", expr, weights)
    if c_axis != last:
        expr = ctx.call("swapaxes", ctx.temp(expr, "mapped"), c_axis, last)
    return expr


def picking(positions, size):
    """The 0/1 matrix [len(positions), size] that picks `positions` in order."""
    m = np.zeros((len(positions), size), np.float32)
    m[np.arange(len(positions)), positions] = 1.0
    return m
