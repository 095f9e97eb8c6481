"""Checks shared by the spatial converters."""


def symmetric_pads(ctx, pads, n):
    pads = list(pads or [0] * (2 * n))
    if pads[:n] != pads[n:]:
        raise ctx.fail(
            "asymmetric padding %s (begin %s, end %s); Caffe pads both sides alike" % (pads, pads[:n], pads[n:]),
            hint="export the model with symmetric padding (e.g. padding='same' with odd kernels only)",
        )
    return pads[:n]


def no_auto_pad(ctx, auto_pad):
    if auto_pad not in ("NOTSET", "", None, "VALID"):
        raise ctx.fail("auto_pad=%s; Caffe needs explicit pads" % auto_pad)


def weight(ctx, value, what):
    w = ctx.const(value)
    if w is None:
        raise ctx.fail("the %s '%s' is computed, not a constant; Caffe layers hold their weights" % (what, value))
    return w
