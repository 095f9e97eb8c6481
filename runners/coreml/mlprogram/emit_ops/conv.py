"""Conv and ConvTranspose (1-, 2- and 3-D) as MIL conv / conv_transpose."""

import numpy as np

from runners.common.specs import ConvSpec, ConvTransposeSpec

from ..common import TO_MIL
from ._common import f32, mil_pads, named


@TO_MIL.register("Conv")
def conv(node, ctx, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None, strides=None):
    from coremltools.converters.mil import Builder as mb

    spec = ConvSpec.of_conv(ctx, node, kernel_shape, strides, dilations, pads, auto_pad, group)
    kw = {"bias": f32(spec.bias)} if spec.bias is not None else {}
    ctx.set(
        node,
        mb.conv(
            x=ctx.var(node.inputs[0]),
            weight=f32(spec.weight),
            strides=spec.strides,
            pad_type="custom",
            pad=mil_pads(spec),
            dilations=spec.dilations,
            groups=spec.group,
            name=ctx.out(node),
            **kw,
        ),
    )


@TO_MIL.register("ConvTranspose")
def conv_transpose(node, ctx, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, output_padding=None,
                   output_shape=None, pads=None, strides=None):  # fmt: skip
    """MIL conv_transpose takes the ONNX weight layout [C_in, C_out/groups, *K] as it is, and its
    `pad` cuts rows from the full output like ONNX's pads. output_padding adds rows at the end:
    taken from the end pad where it is large enough, else the output is padded with zeros before
    the bias is added."""
    from coremltools.converters.mil import Builder as mb

    spec = ConvTransposeSpec.of(
        ctx, node, auto_pad, dilations, group, kernel_shape, output_padding, output_shape, pads, strides
    )
    n = spec.n
    cut_ends = [e - p for e, p in zip(spec.ends, spec.out_pad)]  # rows cut from the end of the full output
    zeros = [max(0, -c) for c in cut_ends]  # rows of zeros added after it
    pad = []
    for b, c in zip(spec.begins, cut_ends):
        pad += [int(b), max(0, int(c))]
    bias = f32(spec.bias) if spec.bias is not None else None
    kw = {"bias": bias} if bias is not None and not any(zeros) else {}
    out = mb.conv_transpose(
        x=ctx.var(node.inputs[0]),
        weight=f32(spec.weight),
        pad_type="custom",
        pad=pad,
        strides=spec.strides,
        dilations=spec.dilations,
        groups=spec.group,
        name=named(ctx, node, not any(zeros)),
        **kw,
    )
    if any(zeros):
        widths = []
        for z in zeros:
            widths += [0, z]
        out = mb.pad(
            x=out,
            pad=np.array(widths, np.int32),
            mode="constant",
            constant_val=np.float32(0),
            name=named(ctx, node, bias is None),
        )
        if bias is not None:
            out = mb.add(x=out, y=bias.reshape((-1,) + (1,) * n), name=ctx.out(node))
    want = ctx.static_shape(node.outputs[0])
    if want is not None and list(out.shape) != want:
        raise ctx.fail(
            "the MIL conv_transpose gives shape %s, the IR says %s" % (list(out.shape), want), reference="internal-bug"
        )
    ctx.set(node, out)
