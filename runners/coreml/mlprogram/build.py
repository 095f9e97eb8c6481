"""IR graph -> MIL program -> .mlpackage (written atomically: a temporary package renamed into place)."""

import json
import os
import shutil

import numpy as np

from runners.common import ir
from runners.common.emit import EmitContext, emit_nodes
from runners.common.emit_graph import read_graph
from runners.common.errors import RunnerError
from runners.common.onnx_models import first_line
from runners.common.tensors import load_npz

from .common import NAMES_KEY, TO_MIL, Names

# Forms this emitter lacks: the broker rewrites them into ops it has (broker/ir/legalize). MIL's
# maximum and minimum take two inputs; its linear op takes a constant weight (transA, alpha, beta
# and a computed B become Transpose, MatMul, Mul and Add). Sum and Mean have no converter: the
# broker writes them as chains of Add (and a Mul). local_response_norm centres its window (odd
# sizes); ONNX's even-size window leans forward, written out by the broker.
LACKS = ("Gemm.general", "LRN.even_size", "Max.variadic", "Min.variadic")
# IR input dtypes -> an ML Program input's dtype (Core ML takes float32, float16 and int32 arrays;
# int64 token ids become int32: values past int32 are refused when the model runs; a bool input is
# an int32 input of 0s and 1s, cast to bool first thing in the program)
INPUT_DTYPES = {
    np.dtype(np.float32): "fp32",
    np.dtype(np.int32): "int32",
    np.dtype(np.int64): "int32",
    np.dtype(np.bool_): "int32",
}
MAX_RANK = 5  # Core ML's tensors (coremltools refuses a program with a rank-6 value)
# A free input dimension (a batch, a sequence length the source leaves free) becomes a flexible
# size of the ML Program's input in this range (Core ML wants a finite upper bound for an ML
# Program; the ONNX IR keeps no bounds of its own)
FREE_SIZES = (1, 1024)


def registry():
    return TO_MIL.loaded()


class MilContext(EmitContext):
    """What a converter works with: IR values as MIL Vars or numpy constants, shapes, names."""

    framework = "coreml"

    def __init__(self, model, weights, names, path):
        EmitContext.__init__(self, model, weights)
        self.names = names
        self.path = path
        self.values = {}  # IR value name -> MIL Var

    def x(self, name):
        """A MIL Var for a computed value, or the numpy array of a constant (float64 as float32,
        int64 as int32: the dtypes MIL has)."""
        if name in self.values:
            return self.values[name]
        if name in self.consts:
            return mil_array(self.consts[name])
        raise self.fail("value '%s' is not produced before it is used" % name, reference="internal-bug")

    def var(self, name):
        """Always a Var (a constant becomes a const op)."""
        from coremltools.converters.mil import Builder as mb

        value = self.x(name)
        if isinstance(value, np.ndarray):
            value = mb.const(val=value, name=self.names.mil(name))
            self.values[name] = value
        return value

    def out(self, node, i=0):
        return self.names.mil(node.outputs[i])

    def set(self, node, var, i=0):
        if var.rank > MAX_RANK:
            raise self.fail(
                "'%s' has rank %d; Core ML holds tensors of rank %d at most" % (node.outputs[i], var.rank, MAX_RANK),
            )
        self.values[node.outputs[i]] = var
        return var

    def alias(self, node, name):
        self.values[node.outputs[0]] = self.var(name)

    def fail(self, message, reference="unsupported-attribute", hint=None, node=None):
        err = EmitContext.fail(
            self,
            message,
            reference=reference,
            hint=hint or "convert to another target framework, or replace this op in the source model",
            node=node,
        )
        err.file = self.path
        return err


def mil_array(value):
    """A numpy constant in a dtype MIL holds."""
    value = np.asarray(value)
    if value.dtype == np.float64:
        return value.astype(np.float32)
    if value.dtype == np.int64 and (value.size == 0 or (value.min() >= -(2**31) and value.max() < 2**31)):
        return value.astype(np.int32)
    return value


def _input_shape(ctx, vi, symbols):
    """An input's MIL shape: its static sizes, and one MIL symbol per free dimension (the same
    symbol for dimensions the IR names alike, so MIL knows that two inputs share a batch)."""
    from coremltools.converters.mil.mil import get_new_symbol

    shape = ctx.shape(vi.name)
    if shape is None:
        raise RunnerError(
            "missing-input-shape",
            "the input '%s' has no known rank; an ML Program's inputs have a rank" % vi.name,
            file=ctx.path,
            node=vi.name,
            framework="coreml",
            hint="give the input shapes with --inputShape",
        )
    if not shape:
        raise RunnerError(
            "unsupported-attribute",
            "the input '%s' is a scalar; an ML Program's inputs are arrays of rank 1 or more" % vi.name,
            file=ctx.path,
            node=vi.name,
            framework="coreml",
            hint="give the value as a constant, or as an array of shape [1]",
        )
    dims = vi.type.tensor_type.shape.dim
    out = []
    for i, size in enumerate(shape):
        if size is not None and size > 0:
            out.append(int(size))
            continue
        key = dims[i].dim_param if i < len(dims) and dims[i].dim_param else "%s:%d" % (vi.name, i)
        out.append(symbols.setdefault(key, get_new_symbol()))
    return tuple(out)


def _flexible(shape):
    """An input's shape for the model description: each free dimension a range (FREE_SIZES)."""
    import coremltools as ct

    return ct.Shape([ct.RangeDim(*FREE_SIZES) if not isinstance(d, int) else d for d in shape])


def _input_dtype(ctx, vi):
    """The MIL dtype of an input: float32, or int32 for int32/int64 values (token ids)."""
    from coremltools.converters.mil.mil import types

    dtype = np.dtype(ctx.dtype(vi.name) or np.float32)
    if dtype not in INPUT_DTYPES:
        raise RunnerError(
            "unsupported-attribute",
            "the input '%s' is %s; an ML Program takes float32 and int32 inputs (int64 and bool as int32)"
            % (vi.name, dtype.name),
            file=ctx.path,
            node=vi.name,
            framework="coreml",
            hint="cast the input to float32 or an integer type in the source model",
        )
    return types.fp32 if INPUT_DTYPES[dtype] == "fp32" else types.int32


def build_program(graph_bytes, weights_path, path=""):
    """(MIL Program, Names, IR model) of an IR graph and its weights."""
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.mil import Function, Program

    model = read_graph(graph_bytes)
    names = Names()
    ctx = MilContext(model, load_npz(weights_path), names, path)
    symbols = {}
    shapes = {vi.name: _input_shape(ctx, vi, symbols) for vi in ctx.inputs}
    placeholders = {
        names.mil(vi.name): mb.placeholder(shape=shapes[vi.name], dtype=_input_dtype(ctx, vi)) for vi in ctx.inputs
    }
    prog = Program()
    with Function(placeholders, opset_version=ct.target.iOS15) as fn:
        for vi in ctx.inputs:
            ctx.values[vi.name] = fn.inputs[names.mil(vi.name)]
            if ctx.dtype(vi.name) is not None and np.dtype(ctx.dtype(vi.name)) == np.bool_:
                ctx.values[vi.name] = mb.cast(x=ctx.values[vi.name], dtype="bool", name=names.fresh(names.mil(vi.name)))
        emit_nodes(registry(), ctx)
        outputs = []
        for o in model.graph.output:
            var = ctx.var(o.name)
            if var.name != names.mil(o.name) or var in outputs or var.op is None or var.op.op_type == "const":
                var = mb.identity(x=var, name=names.mil(o.name) if var.name != names.mil(o.name) else names.fresh())
            outputs.append(var)
        fn.set_outputs(outputs)
    if symbols:
        fn.set_input_types(
            tuple(ct.TensorType(name=names.mil(vi.name), shape=_flexible(shapes[vi.name])) for vi in ctx.inputs)
        )
    prog.add_function("main", fn)
    return prog, names, model


def save_mlpackage(graph_bytes, weights_path, out):
    """Build the program and write it to `out` (.mlpackage); returns `out`."""
    import coremltools as ct

    prog, names, model = build_program(graph_bytes, weights_path, out)
    try:
        mlmodel = ct.convert(
            prog,
            convert_to="mlprogram",
            minimum_deployment_target=ct.target.iOS15,
            compute_precision=ct.precision.FLOAT32,
            pass_pipeline=ct.PassPipeline.EMPTY,
        )
    except Exception as exc:
        raise RunnerError(
            "convert-failed",
            "coremltools cannot write this ML Program: %s" % first_line(exc),
            file=out,
            framework="coreml",
            hint="convert to a NeuralNetwork .mlmodel or another framework; run again with --debug for the log",
        )
    mlmodel.short_description = "converted by mmbroker from the IR (opset %d)" % ir.opset_of(model)
    mlmodel.user_defined_metadata[NAMES_KEY] = json.dumps(names.to_ir, sort_keys=True)
    for p in model.metadata_props:
        mlmodel.user_defined_metadata["mmbroker." + p.key] = p.value
    tmp = "%s.tmp-%d.mlpackage" % (out[: -len(".mlpackage")] if out.endswith(".mlpackage") else out, os.getpid())
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        mlmodel.save(tmp)
        if os.path.exists(out):
            old = "%s.old-%d" % (out, os.getpid())
            os.rename(out, old)
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
