"""ONNX op semantics resolved once, into small spec objects that emitters translate.

Sliding windows (Conv, MaxPool, AveragePool, LpPool): auto_pad resolved into explicit begin/end
pads, ceil_mode's output size with ONNX's rule that the last window starts inside the input or
its begin padding, and the extra end padding that makes a floor-mode layer give that size.
ConvTranspose: the pads output_shape or auto_pad mean, and output_padding. Resize: scales or sizes
resolved into input and output sizes per axis, the integer factors, and whether a nearest mode
repeats every pixel.

Where onnxruntime, ONNX's reference implementation and ONNX's shape inference disagree, the spec
refuses (the emitter gets a refusal to raise, the same words in every runner).

Runs on every interpreter a runner uses (CPython 3.6 for CNTK).
"""

import math

import numpy as np

from .codegen import explicit_pads, split_pads


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


def _ints(values, n, default):
    return [int(v) for v in values] if values else [default] * n


def _weights(ctx, node, const_weights):
    """(weight, bias, weight shape) of a Conv/ConvTranspose: constants the emitter needs, or (with
    const_weights=False) values that may be computed at run time (None, shape from the IR)."""
    if const_weights:
        weight = ctx.need_const(node, 1, "the weight")
        bias = ctx.need_const(node, 2, "the bias") if node.input(2) else None
        return weight, bias, list(weight.shape)
    return ctx.const(node.input(1)), ctx.const(node.input(2)), ctx.need_shape(node.inputs[1])


class WindowSpec(object):
    """Geometry of a sliding window over the trailing `n` axes of an NC... tensor."""

    def __init__(self, kernel, strides, dilations, begins, ends, ceil_mode=0, in_spatial=None):
        self.n = len(kernel)
        self.kernel = list(kernel)
        self.strides = list(strides)
        self.dilations = list(dilations)
        self.begins = list(begins)
        self.ends = list(ends)
        self.ceil_mode = bool(ceil_mode)
        self.in_spatial = list(in_spatial) if in_spatial is not None else None

    @classmethod
    def of(cls, ctx, node, kernel_shape, strides=None, dilations=None, pads=None, auto_pad="NOTSET", ceil_mode=0):
        """The window of `node` reading its input 0; `kernel_shape` may come from a weight."""
        kernel = [int(k) for k in kernel_shape]
        n = len(kernel)
        strides = _ints(strides, n, 1)
        dilations = _ints(dilations, n, 1)
        x = node.inputs[0]
        begins, ends = split_pads(explicit_pads(ctx, x, kernel, strides, dilations, pads, _text(auto_pad)))
        shape = ctx.shape(x)
        spatial = None
        if shape is not None and len(shape) == n + 2 and all(d is not None and d > 0 for d in shape[2:]):
            spatial = [int(d) for d in shape[2:]]
        return cls(kernel, strides, dilations, begins, ends, ceil_mode, spatial)

    @property
    def effective_kernel(self):
        return [(k - 1) * d + 1 for k, d in zip(self.kernel, self.dilations)]

    @property
    def symmetric(self):
        return self.begins == self.ends

    @property
    def padded(self):
        return any(self.begins) or any(self.ends)

    def pads(self):
        """ONNX order: begins then ends."""
        return self.begins + self.ends

    def out_spatial(self):
        """The output sizes ONNX defines (None when the input size is unknown)."""
        if self.in_spatial is None:
            return None
        out = []
        for i in range(self.n):
            size = self.in_spatial[i] + self.begins[i] + self.ends[i] - self.effective_kernel[i]
            if self.ceil_mode:
                o = -(-size // self.strides[i]) + 1
                if (o - 1) * self.strides[i] >= self.in_spatial[i] + self.begins[i]:
                    o -= 1  # the last window would start in the end padding
            else:
                o = size // self.strides[i] + 1
            out.append(o)
        return out

    def ceil_extra(self):
        """Extra end padding per axis that makes floor-mode windows give ceil_mode's output (zeros
        without ceil_mode). Needs the input size."""
        if not self.ceil_mode:
            return [0] * self.n
        want = self.out_spatial()
        extra = []
        for i in range(self.n):
            size = self.in_spatial[i] + self.begins[i] + self.ends[i] - self.effective_kernel[i]
            floor_out = size // self.strides[i] + 1
            extra.append(max(0, (want[i] - floor_out) * self.strides[i]))
        return extra

    def with_ceil_as_padding(self):
        """The same windows in floor mode: ceil_mode turned into extra end padding."""
        extra = self.ceil_extra()
        return WindowSpec(
            self.kernel,
            self.strides,
            self.dilations,
            self.begins,
            [e + x for e, x in zip(self.ends, extra)],
            0,
            self.in_spatial,
        )

    def same_padding(self):
        """'SAME_UPPER' when these pads are what TensorFlow/Keras 'same' pads (more at the end),
        else None. Needs the input size."""
        if self.in_spatial is None:
            return None
        for i in range(self.n):
            out = -(-self.in_spatial[i] // self.strides[i])
            total = max(0, (out - 1) * self.strides[i] + self.effective_kernel[i] - self.in_spatial[i])
            if (self.begins[i], self.ends[i]) != (total // 2, total - total // 2):
                return None
        return "SAME_UPPER"

    def same_windows(self):
        """True when these windows (ceil_mode's included) are those of TensorFlow/Keras 'same': the
        same starts and the same count (end padding no window reaches aside), undilated. A pooling
        layer with padding='same' then computes them, leaving the padding out as ONNX's max and
        count_include_pad=0 average do. Needs the input size."""
        out = self.out_spatial()
        if out is None or any(d != 1 for d in self.dilations):
            return False
        for i in range(self.n):
            same_out = -(-self.in_spatial[i] // self.strides[i])
            total = max(0, (same_out - 1) * self.strides[i] + self.kernel[i] - self.in_spatial[i])
            if out[i] != same_out or self.begins[i] != total // 2:
                return False
        return True


class PoolSpec(WindowSpec):
    """A pooling window: MaxPool, AveragePool (count_include_pad), LpPool (p)."""

    def __init__(self, window, count_include_pad=0, p=2):
        WindowSpec.__init__(
            self,
            window.kernel,
            window.strides,
            window.dilations,
            window.begins,
            window.ends,
            window.ceil_mode,
            window.in_spatial,
        )
        self.count_include_pad = bool(count_include_pad)
        self.p = p

    @classmethod
    def of_pool(
        cls,
        ctx,
        node,
        kernel_shape,
        strides=None,
        dilations=None,
        pads=None,
        auto_pad="NOTSET",
        ceil_mode=0,
        count_include_pad=0,
        p=2,
    ):
        if not kernel_shape:
            raise ctx.fail("%s without kernel_shape" % node.op_type)
        return cls(WindowSpec.of(ctx, node, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode),
                   count_include_pad, p)  # fmt: skip

    @property
    def excludes_padding(self):
        """An average whose divisor leaves out padded cells (AveragePool count_include_pad=0 with pads)."""
        return not self.count_include_pad and self.padded


class ConvSpec(WindowSpec):
    """A convolution: the window (kernel from the weight's shape) plus group, channels and weights."""

    def __init__(self, window, weight, bias, group, weight_shape=None):
        WindowSpec.__init__(
            self,
            window.kernel,
            window.strides,
            window.dilations,
            window.begins,
            window.ends,
            0,
            window.in_spatial,
        )
        self.weight = weight  # [C_out, C_in/group, k...]; None for a weight computed at run time
        self.bias = bias
        self.group = int(group)
        self.weight_shape = [int(d) for d in (weight.shape if weight is not None else weight_shape)]
        self.out_channels = self.weight_shape[0]
        self.in_channels = self.weight_shape[1] * self.group

    @classmethod
    def of_conv(cls, ctx, node, kernel_shape=None, strides=None, dilations=None, pads=None, auto_pad="NOTSET",
                group=1, const_weights=True):  # fmt: skip
        """With const_weights=False the weight and bias may be computed at run time (`weight`/`bias`
        None, `weight_shape` from the IR's shapes)."""
        weight, bias, wshape = _weights(ctx, node, const_weights)
        kernel = [int(k) for k in (kernel_shape or wshape[2:])]
        if list(kernel) != list(wshape[2:]):
            raise ctx.fail("kernel_shape %s differs from the weight's %s" % (kernel, list(wshape[2:])))
        if wshape[0] % int(group):
            raise ctx.fail("group=%d does not divide %d output channels" % (group, wshape[0]))
        window = WindowSpec.of(ctx, node, kernel, strides, dilations, pads, auto_pad)
        return cls(window, weight, bias, group, wshape)

    @property
    def depthwise(self):
        return self.group > 1 and self.group == self.in_channels


class ConvTransposeSpec(object):
    """A transposed convolution: `begins`/`ends` are the rows cut from the start and the end of the
    full transposed convolution, which output_padding (`out_pad`) extends by rows at its end."""

    def __init__(self, weight, bias, group, kernel, strides, dilations, begins, ends, out_pad, in_spatial,
                 weight_shape=None):  # fmt: skip
        self.weight = weight  # [C_in, C_out/group, k...]; None for a weight computed at run time
        self.bias = bias
        self.weight_shape = [int(d) for d in (weight.shape if weight is not None else weight_shape)]
        self.group = int(group)
        self.n = len(kernel)
        self.kernel = list(kernel)
        self.strides = list(strides)
        self.dilations = list(dilations)
        self.begins = list(begins)
        self.ends = list(ends)
        self.out_pad = list(out_pad)
        self.in_spatial = list(in_spatial) if in_spatial is not None else None
        self.in_channels = self.weight_shape[0]
        self.out_channels = self.weight_shape[1] * self.group

    @property
    def symmetric(self):
        return self.begins == self.ends

    def full_spatial(self):
        """Sizes of the full transposed convolution, output_padding included."""
        return [
            (self.in_spatial[i] - 1) * self.strides[i] + (self.kernel[i] - 1) * self.dilations[i] + 1 + self.out_pad[i]
            for i in range(self.n)
        ]

    def out_spatial(self):
        if self.in_spatial is None:
            return None
        return [f - b - e for f, b, e in zip(self.full_spatial(), self.begins, self.ends)]

    @classmethod
    def of(cls, ctx, node, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, output_padding=None,
           output_shape=None, pads=None, strides=None, const_weights=True):  # fmt: skip
        """Forms that onnxruntime, ONNX's reference implementation and ONNX's shape inference size
        differently are refused: auto_pad SAME with output_padding, an auto_pad or output_shape
        asking for more than the full transposed convolution, output_shape with pads or VALID.
        With const_weights=False the weight and bias may be computed at run time (`weight`/`bias`
        None, `weight_shape` from the IR's shapes)."""
        auto_pad = _text(auto_pad) or "NOTSET"
        weight, bias, wshape = _weights(ctx, node, const_weights)
        n = len(wshape) - 2
        kernel = [int(k) for k in (kernel_shape or wshape[2:])]
        if kernel != list(wshape[2:]):
            raise ctx.fail("kernel_shape %s differs from the weight's %s" % (kernel, list(wshape[2:])))
        strides = _ints(strides, n, 1)
        dilations = _ints(dilations, n, 1)
        out_pad = _ints(output_padding, n, 0)
        shape = ctx.shape(node.inputs[0])
        spatial = None
        if shape is not None and len(shape) == n + 2 and all(d is not None and d > 0 for d in shape[2:]):
            spatial = [int(d) for d in shape[2:]]
        if not output_shape and auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
            if auto_pad == "VALID":
                begins, ends = [0] * n, [0] * n
            else:
                p = _ints(pads, 2 * n, 0)
                if any(v < 0 for v in p):
                    raise ctx.fail("negative ConvTranspose pads are not converted")
                begins, ends = p[:n], p[n:]
            return cls(weight, bias, group, kernel, strides, dilations, begins, ends, out_pad, spatial, wshape)
        if spatial is None:
            spatial = ctx.need_shape(node.inputs[0])[2:]
        if output_shape:
            if (pads and any(pads)) or auto_pad == "VALID":
                raise ctx.fail(
                    "ConvTranspose with output_shape and %s is not converted (ambiguous)"
                    % ("auto_pad VALID" if auto_pad == "VALID" else "pads")
                )
            target = [int(d) for d in list(output_shape)[-n:]]
        else:
            if any(out_pad):
                raise ctx.fail(
                    "ConvTranspose with auto_pad %s and output_padding is not converted (ONNX's shape inference "
                    "and onnxruntime disagree on its output size)" % auto_pad
                )
            target = [spatial[i] * strides[i] for i in range(n)]
        full = [(spatial[i] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 + out_pad[i] for i in range(n)]
        total = [f - t for f, t in zip(full, target)]
        if any(t < 0 for t in total):
            raise ctx.fail(
                "ConvTranspose whose %s output %s is larger than the full transposed convolution %s is not "
                "converted (onnxruntime and ONNX's reference disagree on where the zeros go)"
                % ("output_shape" if output_shape else auto_pad, target, full)
            )
        if auto_pad == "SAME_UPPER":
            begins = [t // 2 for t in total]
        else:
            begins = [t - t // 2 for t in total]
        ends = [t - b for t, b in zip(total, begins)]
        return cls(weight, bias, group, kernel, strides, dilations, begins, ends, out_pad, spatial, wshape)


def pad_amounts(ctx, node, rank):
    """Pad's (begins, ends) per axis of a rank-`rank` input: the constant `pads` input spread over
    the constant `axes` input (all axes without it)."""
    pads = [int(v) for v in ctx.need_const(node, 1, "the pads")]
    axes = list(range(rank))
    if node.input(3):
        axes = [int(a) % rank for a in ctx.need_const(node, 3, "the axes")]
    begins, ends = [0] * rank, [0] * rank
    for i, a in enumerate(axes):
        begins[a], ends[a] = pads[i], pads[i + len(axes)]
    return begins, ends


# nearest modes that, by integer factors, repeat every pixel (what an "upsample" layer does)
REPEAT_NEAREST = frozenset(
    [
        ("asymmetric", "floor"),
        ("half_pixel", "round_prefer_floor"),
        ("half_pixel", "round_prefer_ceil"),
        ("pytorch_half_pixel", "round_prefer_floor"),
        ("pytorch_half_pixel", "round_prefer_ceil"),
    ]
)


class ResizeSpec(object):
    """A Resize with its sizes resolved: `in_shape`, `out_shape`, `scales` (ONNX's, per axis; None
    where a size is unknown), `from_sizes` (the node gave sizes rather than scales)."""

    def __init__(self, mode, ctm, nearest_mode, cubic_coeff_a, exclude_outside, antialias, in_shape, out_shape,
                 scales, from_sizes):  # fmt: skip
        self.mode = mode
        self.ctm = ctm
        self.nearest_mode = nearest_mode
        self.cubic_coeff_a = cubic_coeff_a
        self.exclude_outside = exclude_outside
        self.antialias = antialias
        self.in_shape = list(in_shape)
        self.out_shape = list(out_shape)
        self.scales = list(scales)
        self.from_sizes = from_sizes

    @classmethod
    def of(cls, ctx, node, antialias=0, axes=None, coordinate_transformation_mode="half_pixel", cubic_coeff_a=-0.75,
           exclude_outside=0, extrapolation_value=0.0, keep_aspect_ratio_policy="stretch", mode="nearest",
           nearest_mode="round_prefer_floor"):  # fmt: skip
        mode, ctm = _text(mode), _text(coordinate_transformation_mode)
        nearest_mode = _text(nearest_mode)
        x = node.inputs[0]
        shape = ctx.shape(x)
        if shape is None:
            shape = [None] * ctx.need_rank(x)
        rank = len(shape)
        axes = [int(a) % rank for a in axes] if axes is not None else list(range(rank))
        scales = ctx.const(node.input(2)) if node.input(2) else None
        sizes = ctx.const(node.input(3)) if node.input(3) else None
        if node.input(2) and scales is None:
            raise ctx.fail("Resize scales computed at run time are not converted; they must be constants")
        if node.input(3) and sizes is None:
            raise ctx.fail("Resize sizes computed at run time are not converted; they must be constants")
        scales = scales if scales is not None and scales.size else None
        sizes = sizes if sizes is not None and sizes.size else None
        out, scale = list(shape), [1.0] * rank
        if sizes is not None:
            if _text(keep_aspect_ratio_policy) != "stretch":
                raise ctx.fail("Resize with keep_aspect_ratio_policy %s is not converted" % keep_aspect_ratio_policy)
            for a, s in zip(axes, sizes.reshape(-1)):
                out[a] = int(s)
                scale[a] = float(s) / shape[a] if shape[a] else None
        elif scales is not None:
            for a, s in zip(axes, scales.reshape(-1)):
                scale[a] = float(np.float32(s))
                out[a] = int(math.floor(shape[a] * scale[a])) if shape[a] else None
        else:
            raise ctx.fail("Resize without scales or sizes")
        want = ctx.shape(node.outputs[0])
        if want and all(d is not None and d >= 0 for d in want) and all(o is not None for o in out):
            if [int(d) for d in want] != out:
                raise ctx.fail("Resize output %s differs from the IR's shape %s" % (out, list(want)))
        return cls(mode, ctm, nearest_mode, cubic_coeff_a, exclude_outside, antialias, shape, out, scale,
                   sizes is not None)  # fmt: skip

    @property
    def rank(self):
        return len(self.in_shape)

    def resized_axes(self):
        """Axes whose size changes (or may: an unknown size with a scale other than 1)."""
        return [i for i, (a, b) in enumerate(zip(self.in_shape, self.out_shape)) if a != b or self.scales[i] != 1]

    def spatial_only(self):
        """Only axes from 2 on change (N and C kept)."""
        return all(a >= 2 for a in self.resized_axes())

    def integer_factors(self):
        """[factor] of the spatial axes (2:) when every one is a whole upsampling factor that
        equals ONNX's scale, else None."""
        out = []
        for i, o, s in zip(self.in_shape[2:], self.out_shape[2:], self.scales[2:]):
            if not i or not o or o % i or o // i < 1 or float(o // i) != s:
                return None
            out.append(o // i)
        return out

    @property
    def repeats_pixels(self):
        """Nearest resizing whose grid repeats every pixel by integer factors."""
        return self.mode == "nearest" and (self.ctm, self.nearest_mode) in REPEAT_NEAREST

    def source_coordinate(self, axis, j):
        """Where output position `j` of `axis` samples the input (ONNX's coordinate transformation;
        not for tf_crop_and_resize, which needs the roi)."""
        n, scale = self.in_shape[axis], self.scales[axis]
        width = scale * n  # ONNX's output width: the scale's, not the rounded size
        if self.ctm == "align_corners":
            return 0.0 if width == 1 else j * (n - 1) / (width - 1)
        if self.ctm == "asymmetric":
            return j / scale
        if self.ctm == "pytorch_half_pixel":
            return -0.5 if width == 1 else (j + 0.5) / scale - 0.5
        if self.ctm == "half_pixel":
            return (j + 0.5) / scale - 0.5
        if self.ctm == "half_pixel_symmetric":
            offset = n / 2.0 * (1 - self.out_shape[axis] / width)
            return offset + (j + 0.5) / scale - 0.5
        raise ValueError("no source coordinate for coordinate_transformation_mode %s" % self.ctm)

    def _coefficients(self, ratio, scale):
        """Weights of the input cells around a source coordinate (ONNX's reference resize), from the
        cell left of it: offsets 1 - len/2 ... len/2."""
        a = self.cubic_coeff_a
        if self.mode == "nearest":
            if ratio == 1:
                return np.array([0.0, 1.0])
            up = {"round_prefer_floor": ratio > 0.5, "round_prefer_ceil": ratio >= 0.5, "floor": False,
                  "ceil": True}[self.nearest_mode]  # fmt: skip
            return np.array([0.0, 1.0]) if up else np.array([1.0, 0.0])
        if self.mode == "linear" and not self.antialias:
            return np.array([1 - ratio, ratio])
        if self.mode == "cubic" and not self.antialias:
            r, q = ratio, 1 - ratio
            return np.array([((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a,
                             ((a + 2) * r - (a + 3)) * r * r + 1,
                             ((a + 2) * q - (a + 3)) * q * q + 1,
                             ((a * (q + 1) - 5 * a) * (q + 1) + 8 * a) * (q + 1) - 4 * a])  # fmt: skip
        scale = min(scale, 1.0)  # antialiasing widens the filter when downsampling
        support = 1 if self.mode == "linear" else 2
        start = int(math.floor(-support / scale) + 1)
        x = np.abs((np.arange(start, 2 - start) - ratio) * scale)
        if self.mode == "linear":
            c = np.clip(1 - x, 0, 1)
        else:
            c = np.where(x <= 1, (a + 2) * x**3 - (a + 3) * x**2 + 1,
                         np.where(x < 2, a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a, 0.0))  # fmt: skip
        return c / c.sum()

    def axis_weights(self, axis):
        """The (input size, output size) matrix M of `axis`: resizing that axis alone is x @ M.
        Linear, cubic and nearest resizing are separable, so applying every resized axis's matrix
        in turn is the whole resize. Cells past the edges repeat the edge (or, with
        exclude_outside, get no weight)."""
        n, m = self.in_shape[axis], self.out_shape[axis]
        weights = np.zeros((n, m))
        for j in range(m):
            x = self.source_coordinate(axis, j)
            base = int(math.ceil(x)) - 1  # the cell left of x (x itself when x is whole: ratio 1)
            ratio = x - base
            coeffs = self._coefficients(ratio, self.scales[axis])
            cells = base + 1 - len(coeffs) // 2 + np.arange(len(coeffs))
            if self.exclude_outside:
                coeffs = np.where((cells < 0) | (cells >= n), 0.0, coeffs)
                coeffs = coeffs / coeffs.sum()
            np.add.at(weights[:, j], np.clip(cells, 0, n - 1), coeffs)
        return weights

    def nearest_index(self, axis):
        """The input cell each output position of `axis` copies (nearest mode)."""
        return np.argmax(self.axis_weights(axis), axis=0)

    def describe(self):
        extra = " and nearest_mode %s" % self.nearest_mode if self.mode == "nearest" else ""
        return "Resize mode %s with coordinate_transformation_mode %s%s" % (self.mode, self.ctm, extra)


class AttentionSpec(object):
    """ONNX Attention (opset 23) in the form a framework's scaled-dot-product attention call takes:
    4-D query, key and value ([batch, heads, sequence, head size]), an optional mask (boolean: True
    takes part; float: added to the scores), `scale` (None for 1/sqrt(head size)), `is_causal`. A
    past key/value cache, extra outputs, softcap or qk_matmul_output_mode are refused with the same
    words in every runner. `ctx` gives `rank(name)`, `shape(name)`, `dtype(name)`, `fail(message)`."""

    def __init__(self, ctx, node, call, is_causal=0, qk_matmul_output_mode=0, scale=None, softcap=0.0):
        if [i for i in node.inputs[4:] if i] or [o for o in node.outputs[1:] if o]:
            raise ctx.fail("Attention with a past key/value cache or extra outputs has no %s form" % call)
        if softcap or qk_matmul_output_mode:
            raise ctx.fail("Attention with softcap or qk_matmul_output_mode has no %s form" % call)
        self.query, self.key, self.value = node.inputs[:3]
        if any(ctx.rank(x) != 4 for x in (self.query, self.key, self.value)):
            raise ctx.fail("Attention takes 4-D query, key and value here ([batch, heads, sequence, head size])")
        self.mask = node.input(3)
        if self.mask and is_causal:
            raise ctx.fail("Attention with both a mask and is_causal has no %s form" % call)
        self.is_causal = bool(is_causal)
        self.mask_is_bool = bool(self.mask) and np.dtype(ctx.dtype(self.mask) or np.float32) == np.bool_
        head = (ctx.shape(self.query) or [None] * 4)[3]
        if scale is not None and head and math.isclose(scale, 1.0 / math.sqrt(head), rel_tol=1e-6):
            scale = None  # the default
        self.scale = None if scale is None else float(scale)
