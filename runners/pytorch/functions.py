"""ONNX ops that no single torch call expresses, written as plain torch functions.

A converter that needs one calls `ctx.function(fn)`: the function's source is copied into the
generated file (which imports only torch), so the generated code stays self-contained and readable.
Each function uses only `torch`, `F` (torch.nn.functional) and builtins.
"""

import torch
import torch.nn.functional as F  # noqa: F401  (the generated file's name for it)


def reduce_prod(x, dims, keepdim=True):
    """The product over several dims (every dim when `dims` is empty): torch.prod takes one."""
    for d in sorted({d % x.dim() for d in (dims or range(x.dim()))}, reverse=True):
        x = torch.prod(x, dim=d, keepdim=keepdim)
    return x
