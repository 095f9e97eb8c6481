"""A GRU with linear_before_reset=1 (PyTorch's nn.GRU, Keras's reset_after) as a MIL while_loop.

MIL's iOS 15 gru applies the reset gate to the state before the recurrent product
(linear_before_reset=0), and iOS 18's `reset_after` gru is marked failing against PyTorch in
coremltools' own tests (rdar://128479517). coremltools' PyTorch frontend writes nn.GRU as a
while_loop for that reason, and so does this writer: one loop per direction over the free sequence
length (not unrolled), the input projection of every step computed before the loop as one linear,
each step's state written into the sequence with scatter.

    z, r = f(Xz + Hz), f(Xr + Hr);  n = g(Xn + r * Hn);  h' = n + z * (h - n)

where X = W x + Wb (all steps at once) and H = R h + Rb (per step), as ONNX defines the GRU."""

import numpy as np

from ._common import f32, named

# ONNX's activation names as MIL ops (HardSigmoid at ONNX's defaults, as the Recurrence checks)
STEP_ACTIVATIONS = {
    "sigmoid": lambda mb, x, name: mb.sigmoid(x=x, name=name),
    "tanh": lambda mb, x, name: mb.tanh(x=x, name=name),
    "relu": lambda mb, x, name: mb.relu(x=x, name=name),
    "hard_sigmoid": lambda mb, x, name: mb.sigmoid_hard(x=x, alpha=0.2, beta=0.5, name=name),
}


def gru_loops(rec):
    """The outputs of a linear_before_reset GRU, one while_loop per direction (rec: a Recurrence)."""
    from coremltools.converters.mil import Builder as mb

    node, ctx = rec.node, rec.ctx
    w = ctx.need_const(node, 1, "the input weights W")
    r = ctx.need_const(node, 2, "the recurrence weights R")
    h = rec.hidden
    b = ctx.need_const(node, 3, "the bias B") if node.input(3) else np.zeros((len(rec.directions), 6 * h), np.float32)
    x = rec.x()
    sequences, states = [], []
    for d, way in enumerate(rec.directions):
        seq = x if way == "forward" else mb.reverse(x=x, axes=[0], name=named(ctx, node, False))
        projected = mb.linear(x=seq, weight=f32(w[d]), bias=f32(b[d][: 3 * h]), name=named(ctx, node, False))
        every, last = _loop(rec, projected, rec.initial(5, x, [d]), f32(r[d]), f32(b[d][3 * h :]), rec.activations[d])
        if way == "reverse":
            every = mb.reverse(x=every, axes=[0], name=named(ctx, node, False))
        sequences.append(every)
        states.append(last)
    return sequences, states


def _loop(rec, projected, h0, r, rb, activations):
    """(every step's state [steps, batch, hidden], the last state [batch, hidden]) of one direction."""
    from coremltools.converters.mil import Builder as mb

    node, ctx = rec.node, rec.ctx
    f, g = (STEP_ACTIVATIONS[a] for a in activations)
    hidden = rec.hidden

    def fresh():
        return named(ctx, node, False)

    dims = mb.shape(x=projected, name=fresh())
    steps = mb.slice_by_index(x=dims, begin=[0], end=[1], name=fresh())
    leading = mb.slice_by_index(x=dims, begin=[0], end=[2], name=fresh())
    every_shape = mb.concat(values=[leading, np.array([hidden], np.int32)], axis=0, name=fresh())
    every = mb.fill(shape=every_shape, value=np.float32(0), name=fresh())
    if isinstance(h0, np.ndarray):
        h0 = mb.const(val=h0, name=fresh())

    def cond(i, state, every):
        return mb.less(x=i, y=steps, name=fresh())

    def body(i, state, every):
        xt = mb.squeeze(x=mb.gather(x=projected, indices=i, axis=0, name=fresh()), axes=[0], name=fresh())
        ht = mb.linear(x=state, weight=r, bias=rb, name=fresh())
        xz, xr, xn = mb.split(x=xt, num_splits=3, axis=1, name=fresh())
        hz, hr, hn = mb.split(x=ht, num_splits=3, axis=1, name=fresh())
        z = f(mb, mb.add(x=xz, y=hz, name=fresh()), fresh())
        reset = f(mb, mb.add(x=xr, y=hr, name=fresh()), fresh())
        n = g(mb, mb.add(x=xn, y=mb.mul(x=reset, y=hn, name=fresh()), name=fresh()), fresh())
        kept = mb.mul(x=z, y=mb.sub(x=state, y=n, name=fresh()), name=fresh())
        new = mb.add(x=n, y=kept, name=fresh())
        step = mb.expand_dims(x=new, axes=[0], name=fresh())
        every = mb.scatter(data=every, indices=i, updates=step, axis=0, mode="update", name=fresh())
        return mb.add(x=i, y=np.int32(1), name=fresh()), new, every

    _, last, every = mb.while_loop(_cond=cond, _body=body, loop_vars=(np.zeros(1, np.int32), h0, every),
                                   name=fresh())  # fmt: skip
    return every, last
