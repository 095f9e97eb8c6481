"""Small helpers for tests: run the CLI in-process, build one-node ONNX models."""

from __future__ import annotations

import io
import os
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> CliResult:
    """`mmbroker ARGS` through the real entry point (error rendering and exit codes included)."""
    from broker.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_argv = sys.argv
    sys.argv = ["mmbroker", *map(str, args)]
    os.environ["NO_COLOR"] = "1"
    code = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = old_argv
    return CliResult(code, out.getvalue(), err.getvalue())


def onnx_model(nodes, inputs, outputs, initializers=(), opset=18) -> onnx.ModelProto:
    g = h.make_graph(
        nodes, "test",
        [h.make_tensor_value_info(n, T.FLOAT, s) for n, s in inputs],
        [h.make_tensor_value_info(*((o, T.FLOAT, None) if isinstance(o, str) else (o[0], T.FLOAT, o[1])))
         for o in outputs],
        [onnx.numpy_helper.from_array(np.asarray(a, np.float32), n) for n, a in initializers],
    )
    model = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    inferred = onnx.shape_inference.infer_shapes(model)
    known = {vi.name: vi for vi in list(inferred.graph.value_info) + list(inferred.graph.output)}
    for out in model.graph.output:
        if out.name in known:
            out.CopyFrom(known[out.name])
    return model
