""".mlpackage -> ONNX graph at the IR opset: the MIL program is read back with its weights
(coremltools' milproto loader) and translated op by op (`parse_ops/`). Used by Parse and by Infer
on Linux (an interpretation of the program, not Apple's runtime)."""

import json
import os

import numpy as np

from runners.common import ir
from runners.common.errors import RunnerError
from runners.common.loading import corrupt, require_file

from .common import FROM_MIL, MIL_OPSET, NAMES_KEY


def registry():
    return FROM_MIL.loaded()


def is_mlpackage(path):
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, "Manifest.json"))


def load_program(path):
    """(spec, MIL Program) of an .mlpackage, with errors naming the package."""
    import coremltools as ct
    from coremltools.converters.mil.frontend.milproto.load import load as mil_load

    require_file(path, "CoreML .mlpackage", folder_ok=True)
    if not is_mlpackage(path):
        raise corrupt(path, "not an .mlpackage (no Manifest.json)")
    try:
        spec = ct.models.MLModel(path, skip_model_load=True).get_spec()
    except Exception as exc:
        raise corrupt(path, "coremltools cannot read it: %s" % str(exc).splitlines()[0])
    if spec.WhichOneof("Type") != "mlProgram":
        raise RunnerError(
            "unsupported-format",
            "this package holds a %s, not an ML Program" % spec.WhichOneof("Type"),
            file=path,
        )
    weights = os.path.join(path, "Data", "com.apple.CoreML", "weights")
    try:
        prog = mil_load(spec, spec.specificationVersion, weights)
    except Exception as exc:
        raise corrupt(path, "its ML Program does not load: %s" % str(exc).splitlines()[0])
    return spec, prog


class ReadContext(object):
    def __init__(self, names, path):
        self.names = names  # MIL name -> IR value name
        self.path = path
        self.nodes = []
        self.initializers = []
        self._inits = set()
        self.op = None
        self.renamed = {}  # MIL name -> IR name inside a nested block (a loop's body and condition)

    def name(self, var):
        if var.name in self.renamed:
            return self.renamed[var.name]
        return self.names.get(var.name, var.name)

    def nested(self, renamed):
        """A context for a nested block: its own nodes (a subgraph's), the same initializers (outer
        scope values to the subgraph), MIL names renamed as `renamed` says."""
        child = ReadContext(self.names, self.path)
        child.initializers, child._inits = self.initializers, self._inits
        child.renamed = dict(self.renamed, **renamed)
        return child

    def translate(self, operations):
        """Each MIL op (constants aside) through its converter, into this context's nodes."""
        reg = registry()
        ops = [op for op in operations if op.op_type != "const"]
        reg.check([(op.name, op.op_type) for op in ops], MIL_OPSET)
        outer = self.op
        for op in ops:
            self.op = op
            reg.lookup(op.op_type, MIL_OPSET)(op, self)
        self.op = outer

    def val(self, op, key, default=None):
        var = op.inputs.get(key)
        if var is None or var.val is None:
            return default
        return var.val

    def input(self, op, key):
        """The IR value name of an op input; a constant input becomes an initializer."""
        return self.input_var(op.inputs[key])

    def input_var(self, var):
        """The IR value name of a MIL Var; a constant becomes an initializer."""
        from onnx import numpy_helper

        if var.val is not None and (var.op is None or var.op.op_type == "const"):
            name = self.name(var)
            if name not in self._inits:
                value = np.asarray(var.val)
                if value.dtype == np.float64:
                    value = value.astype(np.float32)
                self.initializers.append(numpy_helper.from_array(value, name))
                self._inits.add(name)
            return name
        return self.name(var)

    def const(self, name, value):
        from onnx import numpy_helper

        if name not in self._inits:
            self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
            self._inits.add(name)
        return name

    def int64(self, op, key):
        """An integer input as ONNX's shape-like inputs take it (int64; MIL's are int32): a constant,
        or a Cast of the value the program computes."""
        value = self.val(op, key)
        name = "%s__%s" % (self.out(op), key)
        if value is not None:
            return self.const(name, np.asarray(value, np.int64).reshape(np.shape(value)))
        return self.node("Cast", [self.input(op, key)], [name], to=7)

    def out(self, op, i=0):
        return self.name(op.outputs[i])

    def node(self, op_type, inputs, outputs, name=None, **attrs):
        from onnx import helper

        self.nodes.append(helper.make_node(op_type, inputs, outputs, name=name or outputs[0], **attrs))
        return outputs[0]

    def fail(self, message):
        op = self.op
        return RunnerError(
            "unsupported-attribute",
            message,
            file=self.path,
            node=op.name if op is not None else "",
            op=op.op_type if op is not None else "",
            hint="this ML Program uses a form of the op the reader does not translate",
        )


def value_info(name, var):
    """An ONNX value info of a MIL Var: its shape and dtype (fp32, fp16, int32 or bool)."""
    from coremltools.converters.mil.mil import types
    from onnx import TensorProto, helper

    shape = [int(d) if isinstance(d, (int, np.integer)) else None for d in var.shape]
    dtype = {types.fp16: TensorProto.FLOAT16, types.int32: TensorProto.INT32, types.bool: TensorProto.BOOL}
    return helper.make_tensor_value_info(name, dtype.get(var.dtype, TensorProto.FLOAT), shape)


def program_to_onnx(spec, prog, path, input_shapes=None):
    """The ML Program as an ONNX model at the IR opset."""
    from onnx import helper

    names = json.loads(spec.description.metadata.userDefined.get(NAMES_KEY, "{}") or "{}")
    fn = prog.functions.get("main") or next(iter(prog.functions.values()))
    ctx = ReadContext(names, path)
    ctx.translate(fn.operations)
    inputs = [value_info(ctx.name(v), v) for v in fn.inputs.values()]
    for vi in inputs:
        given = (input_shapes or {}).get(vi.name)
        if given:
            dims = vi.type.tensor_type.shape.dim
            for d, size in zip(dims, given):
                d.dim_value = int(size)
    outputs = [value_info(ctx.name(v), v) for v in fn.outputs]
    graph = helper.make_graph(ctx.nodes, "mlprogram", inputs, outputs, ctx.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ir.IR_OPSET)])
    model.producer_name = "mmbroker coreml runner (ML Program)"
    return model
