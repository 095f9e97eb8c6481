"""MaxPool, AveragePool (floor and ceil mode, padding counted or not), GlobalAveragePool,
GlobalMaxPool.

CoreML's pooling layer with `valid` padding and explicit amounts pools in floor mode over the padded
input (any pads, asymmetric too); `avgPoolExcludePadding` is ONNX's count_include_pad=0 (padded
cells out of the divisor), otherwise the divisor is the whole kernel. ceil_mode becomes extra end
padding (PoolSpec.with_ceil_as_padding). An average that counts padding in ceil mode is refused
where the extra end padding would enter the divisor (ONNX leaves it out there, CoreML cannot).
Reductions over H and W (what exporters write for a global pool) are in `reduce`.
"""

from runners.common.specs import PoolSpec

from ..context import EMIT
from ._common import two_d


def _pool(node, ctx, kind, spec):
    if any(d != 1 for d in spec.dilations):
        raise ctx.fail("dilated pooling has no CoreML NeuralNetwork layer")
    if spec.ceil_mode:
        ctx.need_shape(node.inputs[0])
        if kind == "AVERAGE" and spec.count_include_pad and any(spec.ceil_extra()):
            raise ctx.fail(
                "average pooling in ceil mode that counts the padding, with a last window past the padded "
                "input: ONNX leaves those cells out of the divisor, CoreML's pooling counts them"
            )
        spec = PoolSpec(spec.with_ceil_as_padding(), spec.count_include_pad, spec.p)
    top, left, bottom, right = two_d(ctx, spec, "pooling")
    ctx.builder.add_pooling(
        ctx.layer(node),
        height=spec.kernel[0],
        width=spec.kernel[1],
        stride_height=spec.strides[0],
        stride_width=spec.strides[1],
        layer_type=kind,
        padding_type="VALID",
        input_name=ctx.feature(node.inputs[0]),
        output_name=ctx.out(node),
        exclude_pad_area=not spec.count_include_pad,
        padding_top=top,
        padding_bottom=bottom,
        padding_left=left,
        padding_right=right,
    )


@EMIT.register("MaxPool")
def max_pool(node, ctx, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape=None, pads=None, storage_order=0,
             strides=None):  # fmt: skip
    if len(node.outputs) > 1 and node.outputs[1]:
        raise ctx.fail("MaxPool's indices output has no CoreML equivalent")
    spec = PoolSpec.of_pool(ctx, node, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode)
    _pool(node, ctx, "MAX", spec)


@EMIT.register("AveragePool")
def average_pool(node, ctx, auto_pad="NOTSET", ceil_mode=0, count_include_pad=0, dilations=None, kernel_shape=None,
                 pads=None, strides=None):  # fmt: skip
    spec = PoolSpec.of_pool(ctx, node, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode, count_include_pad)
    _pool(node, ctx, "AVERAGE", spec)


def global_pool(node, ctx, kind):
    x = node.inputs[0]
    if ctx.need_rank(x) != 4:
        raise ctx.fail("global pooling of a rank-%d value has no CoreML NeuralNetwork layer" % ctx.rank(x))
    ctx.builder.add_pooling(
        ctx.layer(node),
        height=0,
        width=0,
        stride_height=1,
        stride_width=1,
        layer_type=kind,
        padding_type="VALID",
        input_name=ctx.feature(x),
        output_name=ctx.out(node),
        is_global=True,
    )


@EMIT.register("GlobalAveragePool")
def global_average_pool(node, ctx):
    global_pool(node, ctx, "AVERAGE")


@EMIT.register("GlobalMaxPool")
def global_max_pool(node, ctx):
    global_pool(node, ctx, "MAX")
