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


def run_in_env(handle, *args, timeout: float = 900):
    """Run a script with a runner environment's python and the variables its runner gets (the
    broker's own paths left out); assert it succeeded and return the finished process."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(handle.env_vars)
    env.setdefault("GLOG_minloglevel", "2")
    cmd = [str(handle.python), *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def assert_clean_failure(r: CliResult, out, *words: str) -> None:
    """A failed CLI run: exit 1, no traceback, every word in its message, no output file left."""
    assert r.exit_code == 1, r.stderr
    assert "Traceback" not in r.stderr
    text = " ".join(r.stderr.split())
    for w in words:
        assert w in text, (w, r.stderr)
    assert not out.exists(), "a failed conversion left an output file"


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
        nodes,
        "test",
        [h.make_tensor_value_info(n, T.FLOAT, s) for n, s in inputs],
        [
            h.make_tensor_value_info(*((o, T.FLOAT, None) if isinstance(o, str) else (o[0], T.FLOAT, o[1])))
            for o in outputs
        ],
        [onnx.numpy_helper.from_array(np.asarray(a, np.float32), n) for n, a in initializers],
    )
    model = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    inferred = onnx.shape_inference.infer_shapes(model)
    known = {vi.name: vi for vi in list(inferred.graph.value_info) + list(inferred.graph.output)}
    for out in model.graph.output:
        if out.name in known:
            out.CopyFrom(known[out.name])
    return model


def build_case(case, seed=0):
    """(ModelProto with data, {input name: array}) for one case of op_cases."""
    rng = np.random.default_rng(seed)
    inputs, inits, feeds, names = [], [], {}, []
    for i, spec in enumerate(case["inputs"]):
        name = "in%d" % i
        if spec is None:
            names.append("")
            continue
        names.append(name)
        if isinstance(spec, list) or "shape" in spec:
            shape = spec if isinstance(spec, list) else spec["shape"]
            dtype = "float32" if isinstance(spec, list) else spec["dtype"]
            if dtype == "bool":
                a = rng.random(shape) > 0.5
            else:
                a = rng.standard_normal(shape).astype(dtype)
                if case.get("positive"):
                    a = (np.abs(a) + 0.1).astype(a.dtype)
            feeds[name] = a
            inputs.append(h.make_tensor_value_info(name, h.np_dtype_to_tensor_dtype(a.dtype), shape))
        elif "init" in spec:
            a = rng.standard_normal(spec["init"]).astype(np.float32)
            if case.get("positive"):
                a = np.abs(a) + 0.1
            inits.append(onnx.numpy_helper.from_array(a, name))
        else:
            inits.append(onnx.numpy_helper.from_array(np.array(spec["value"], dtype=spec["dtype"]), name))
    outs = ["out%d" % i for i in range(case.get("outputs", 1))]
    node = h.make_node(case["op"], names, outs, name="node_" + case["name"], **case["attrs"])
    graph = h.make_graph([node], case["name"], inputs, [h.make_value_info(o, onnx.TypeProto()) for o in outs], inits)
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", case["opset"])])
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    inferred = {v.name: v for v in model.graph.value_info}
    for o in model.graph.output:  # outputs declared without a type take the inferred one
        if o.name in inferred:
            o.CopyFrom(inferred[o.name])
        assert o.type.tensor_type.elem_type, o.name
    return model, feeds


def check_pair(session, parity_recorder, src, source, dst, written, ir, model, min_std=1e-2, inputs=None):
    """Run source and converted model on seeded inputs (or `inputs`), record the report, assert it
    passed and that every reference output varies (std above min_std), so the comparison proves
    something."""
    from broker.parity import seeded_inputs
    from broker.pipeline import input_ranges, input_specs

    if inputs is None:
        inputs = seeded_inputs(input_specs(ir), seed=0, ranges=input_ranges(ir))
    report = session.verify((src, source), (dst, written), inputs)
    parity_recorder.add(src, dst, model, report)
    flat = [o.reference_name for o in report.outputs if o.reference_std <= min_std]
    assert not flat, f"reference output(s) {flat} have no spread: the comparison would prove nothing"
    assert report.passed, report.to_dict()
    return report


def with_external_data(model: onnx.ModelProto, location: str, **info: object) -> onnx.ModelProto:
    """A copy of `model` whose first initializer is to be read from the file `location` (ONNX
    external data, with `offset`/`length` given in `info`)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    t = m.graph.initializer[0]
    t.ClearField("raw_data")
    t.data_location = onnx.TensorProto.EXTERNAL
    t.external_data.add(key="location", value=location)
    for key, value in info.items():
        t.external_data.add(key=key, value=str(value))
    return m
