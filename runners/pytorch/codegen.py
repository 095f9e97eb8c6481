"""What an IR -> PyTorch op converter works with: the emit registry and the EmitContext.

A converter is registered per IR op and receives the node, the context and the node's ONNX
attributes as keyword arguments (with ONNX defaults in its signature):

    @EMIT.register("LeakyRelu")
    def leaky_relu(node, ctx, alpha=0.01):
        mod = ctx.module(node, "nn.LeakyReLU(%s)" % ctx.lit(alpha))
        ctx.assign(node, "%s(%s)" % (mod, ctx.x(node.inputs[0])))

The context turns IR value names into Python variable names, constants into literals or
registered buffers, and collects the `__init__` lines, the `forward` lines and the state_dict.
"""

import inspect
import keyword
import re

import numpy as np

from runners.common.codegen import identifier as _identifier
from runners.common.codegen import lit  # noqa: F401  (re-exported for the ops)
from runners.common.emit import EmitContext as BaseEmitContext
from runners.common.emit_graph import IRNode  # noqa: F401  (re-exported for the ops)
from runners.common.errors import RunnerError
from runners.common.naming import op_name, weight_stem
from runners.common.registry import Registry

EMIT = Registry("pytorch", "emit", package="runners.pytorch.emit_ops")

# exporter-made value names that say nothing; variables get their layer's name instead
_GENERIC = re.compile(r"^(getitem|val|v|_?tmp|onnx_\w+|\d+)(_\d+)*$")

# Names a generated variable or attribute must not take.
_RESERVED = set(keyword.kwlist) | {
    "self",
    "torch",
    "nn",
    "F",
    "math",
    "input",
    "len",
    "range",
    "min",
    "max",
    "sum",
    "abs",
    "pow",
    "round",
    "float",
    "int",
    "bool",
    "list",
    "tuple",
    "dict",
    "type",
    "id",
    "object",
    "super",
    "print",
    "forward",
    "training",
    "state_dict",
    "parameters",
    "buffers",
    "modules",
    "children",
    "eval",
    "train",
    "to",
    "cpu",
    "cuda",
    "half",
    "double",
    "apply",
    "register_buffer",
    "IR_VALUES",
    "INPUTS",
    "OUTPUTS",
    "zip",
    "map",
    "filter",
    "all",
    "any",
    "iter",
    "next",
    "format",
    "hash",
    "slice",
}

_TORCH_DTYPES = {
    "float32": "torch.float32",
    "float64": "torch.float64",
    "float16": "torch.float16",
    "int64": "torch.int64",
    "int32": "torch.int32",
    "int16": "torch.int16",
    "int8": "torch.int8",
    "uint8": "torch.uint8",
    "bool": "torch.bool",
    "bfloat16": "torch.bfloat16",
}


def torch_dtype(dtype):
    name = np.dtype(dtype).name
    if name not in _TORCH_DTYPES:
        raise KeyError(name)
    return _TORCH_DTYPES[name]


def _is_parameter(name, arr):
    """A floating-point weight the source model trains (named by its module path, `embeddings.cls_token`,
    as exporters keep parameter names) rather than a constant the exporter computed (`val_12`): it
    becomes an nn.Parameter, so the generated model retrains it."""
    return arr.dtype.kind == "f" and "." in name and not name.startswith(".") and arr.ndim > 0


def identifier(name, fallback="v"):
    """A Python identifier close to an IR name: `layer1.0/conv:0` -> `layer1_0_conv_0`."""
    return _identifier(name, fallback, _RESERVED)


def compact(values):
    """`3` for (3, 3), a tuple otherwise: how torch layers are usually written."""
    values = [int(v) for v in values]
    if values and all(v == values[0] for v in values):
        return str(values[0])
    return lit(tuple(values))


class EmitContext(BaseEmitContext):
    """The shared emit context plus what PyTorch code needs: Python names for IR values, the
    `__init__` and `forward` lines, the state_dict."""

    framework = "pytorch"
    unsupported_dtypes = ("uint16", "uint32", "uint64")  # torch has no arithmetic kernels for them

    def __init__(self, model, weights):
        BaseEmitContext.__init__(self, model, weights)
        self.weights = weights  # initializer name -> ndarray
        self.init_lines = []
        self.forward_lines = []
        self.state_dict = {}  # key -> ndarray
        self.ir_values = []  # (python var, ir value name)
        self._vars = {}  # ir value name -> python var
        self._used = set()
        self._attrs = set()
        self._materialized = {}  # const value name -> expression
        self.functions = []  # sources of the module-level functions the forward calls (see `function`)

    def _unique(self, base):
        var = base
        n = 1
        while var in self._used:
            n += 1
            var = "%s_%d" % (base, n)
        self._used.add(var)
        return var

    def new_var(self, ir_name, prefer=None):
        base = identifier(ir_name)
        if prefer and _GENERIC.match(base):
            base = identifier(prefer)
        var = self._unique(base)
        self._vars[ir_name] = var
        self.ir_values.append((var, ir_name))
        return var

    def local(self, hint, expr):
        """`<var> = <expr>` in forward for a value that is no IR value (a step of one node's
        computation); returns the variable's name."""
        var = self._unique(identifier(hint))
        self.forward_lines.append("%s = %s" % (var, expr))
        return var

    def x(self, name):
        """The expression for an IR value used as a tensor."""
        if name in self._vars:
            return self._vars[name]
        if name in self.consts:
            return self.buffer(name)
        raise RunnerError(
            "invalid-model", "value '%s' is used before it is computed" % name, node=self.node.name if self.node else ""
        )

    def operand(self, name, other=None):
        """A tensor or, for a one-element constant broadcast against `other`, a Python literal."""
        c = self.const(name)
        if c is not None and c.size == 1 and name not in self._vars:
            other_rank = self.rank(other) if other else None
            other_dtype = self.dtype(other) if other else None
            if (
                other_rank is not None
                and other_rank >= c.ndim
                and (other_dtype is None or np.dtype(other_dtype) == c.dtype)
            ):
                return lit(c.reshape(()).item(), c.dtype)
        return self.x(name)

    def buffer(self, name):
        """Register a constant IR value as a buffer and return `self.<name>`."""
        if name in self._materialized:
            return self._materialized[name]
        arr = np.asarray(self.consts[name])
        attr = self.attr_name(name, fallback="const")
        zeros = "torch.zeros(%s, dtype=%s)" % (lit(tuple(arr.shape)), torch_dtype(arr.dtype))
        if _is_parameter(name, arr):
            self.init_lines.append("self.%s = nn.Parameter(%s)" % (attr, zeros))
        else:
            self.init_lines.append("self.register_buffer(%r, %s)" % (attr, zeros))
        self.state_dict[attr] = arr
        expr = "self.%s" % attr
        self._materialized[name] = expr
        return expr

    def attr_name(self, hint, fallback="layer"):
        base = identifier(hint, fallback)
        attr = base
        n = 1
        while attr in self._attrs:
            n += 1
            attr = "%s_%d" % (base, n)
        self._attrs.add(attr)
        return attr

    def ints(self, name):
        """The integers of a constant IR value as a list, or None for a computed value."""
        c = self.const(name) if name else None
        return None if c is None else [int(v) for v in np.asarray(c).reshape(-1)]

    def int_list(self, name):
        """A Python expression for the integers of an IR value: a literal list for a constant, the
        values read at run time (`<var>.tolist()`) for a computed one (eager code can take them)."""
        values = self.ints(name)
        return lit(values) if values is not None else "%s.tolist()" % self.x(name)

    def int_scalar(self, name):
        """A Python expression for the one integer an IR value holds (a literal, or `int(<var>)`)."""
        values = self.ints(name)
        return str(values[0]) if values is not None else "int(%s)" % self.x(name)

    # ---- code ---------------------------------------------------------------------------
    def function(self, fn):
        """The name of a module-level function of the generated file, from a plain-torch function of
        runners/pytorch/functions.py whose source is copied in once (for ONNX ops that no single
        torch call expresses)."""
        source = re.sub(r"  # fmt: skip$", "", inspect.getsource(fn), flags=re.M)  # the formatter's marks
        if source not in self.functions:
            self.functions.append(source)
        return fn.__name__

    def module(self, node, ctor, params=None, hint=None):
        """Add `self.<attr> = <ctor>` to __init__ with `params` ({'weight': arr}) in the
        state_dict; returns `self.<attr>`. The attribute is named after the source module the node
        was exported from or the node's own name (runners/common/naming.py), else `hint` (the
        converter's: the layer's weight, conv1.weight -> conv1), else the op's name (`max_pool`)."""
        named = self.layer_hint(node)
        if named:
            hint = named
        elif hint is None:
            hint = op_name(node.op_type)
        attr = self.attr_name(hint)
        self.init_lines.append("self.%s = %s" % (attr, ctor))
        for key, arr in (params or {}).items():
            self.state_dict["%s.%s" % (attr, key)] = np.asarray(arr)  # 0-D stays 0-D; C order at save
        return "self.%s" % attr

    def weight_hint(self, name):
        """A layer name from a weight initializer name: `layer1.0.conv1.weight` -> `layer1.0.conv1`."""
        return weight_stem(name)

    def assign(self, node, expr, outputs=None, prefer=None):
        """`<outputs> = <expr>` in forward. `prefer` names the variable (e.g. after its layer)
        when the IR name is a generic exporter name such as getitem_3 or val_12."""
        outputs = list(node.outputs if outputs is None else outputs)
        if prefer and prefer.startswith("self."):
            prefer = prefer[5:]
        names = [self.new_var(o, prefer if len(outputs) == 1 else None) if o else "_" for o in outputs]
        self.forward_lines.append("%s = %s" % (", ".join(names) if names else "_", expr))
