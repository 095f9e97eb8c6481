"""Signal processing: DFT (torch.fft), STFT (torch.stft)."""

from .. import functions
from ..codegen import EMIT


@EMIT.register("DFT")
def dft(node, ctx, axis=1, inverse=0, onesided=0):
    args = [ctx.x(node.inputs[0])]
    if node.input(1):
        args.append("dft_length=%s" % ctx.int_scalar(node.input(1)))
    args += ["axis=%d" % axis] + (["inverse=1"] if inverse else []) + (["onesided=1"] if onesided else [])
    ctx.assign(node, "%s(%s)" % (ctx.function(functions.dft), ", ".join(args)))


@EMIT.register("STFT")
def stft(node, ctx, onesided=1):
    """ONNX's frames without centring or padding, as torch.stft(center=False) cuts them; the result
    (batch, frames, bins, real/imaginary)."""
    signal, step, window, length = (node.input(i) for i in range(4))
    x = ctx.x(signal)
    source = "%s[..., 0]" % x if (ctx.shape(signal) or [0])[-1] == 1 else "torch.view_as_complex(%s)" % x
    n_fft = ctx.int_scalar(length) if length else "%s.shape[0]" % ctx.x(window)
    opts = "hop_length=%s, center=False" % ctx.int_scalar(step)
    if window:
        opts += ", window=%s" % ctx.x(window)
    if not onesided:
        opts += ", onesided=False"
    call = "torch.stft(%s, %s, %s, return_complex=True)" % (source, n_fft, opts)
    ctx.assign(node, "torch.view_as_real(%s).transpose(1, 2)" % call)
