"""The `activation=` of [convolutional], [connected] and [shortcut] as ONNX ops.

DarkNet's activations that OpenCV's importer (the reference run) also computes: linear, leaky
(slope 0.1), relu, logistic, mish and swish. The others (elu, selu, tanh, relu6, gelu, ...) are
refused: OpenCV refuses such a cfg, so a conversion of it could not be checked.
"""

ACTIVATIONS = ("linear", "leaky", "relu", "logistic", "mish", "swish")


def activate(ctx, x):
    kind = ctx.layer.text("activation")
    shape = ctx.shape(x)
    if kind is None:
        raise ctx.fail(
            "unsupported-attribute",
            "no activation= (DarkNet's default for this layer is logistic, OpenCV's importer takes linear)",
            hint="write the activation the network was trained with, e.g. activation=linear",
        )
    if kind == "linear":
        return x
    if kind == "leaky":
        return ctx.node("LeakyRelu", [x], shape, "act", alpha=0.1)
    if kind == "relu":
        return ctx.node("Relu", [x], shape, "act")
    if kind == "logistic":
        return ctx.node("Sigmoid", [x], shape, "act")
    if kind == "mish":
        return ctx.node("Mish", [x], shape, "act")
    if kind == "swish":  # x * sigmoid(x): ONNX 18 has no Swish
        gate = ctx.node("Sigmoid", [x], shape, "act_gate")
        return ctx.node("Mul", [x, gate], shape, "act")
    raise ctx.refuse(
        "activation",
        "not among the activations converted (%s): OpenCV's importer, which checks the conversion, does not "
        "run it" % ", ".join(ACTIVATIONS),
    )


def required(ctx, key, why):
    """An integer key DarkNet and OpenCV default differently (or OpenCV not at all): it must be given."""
    if not ctx.layer.has(key):
        raise ctx.fail("unsupported-attribute", "no %s= (%s)" % (key, why), hint="write %s= in the section" % key)
    return ctx.layer.int(key)
