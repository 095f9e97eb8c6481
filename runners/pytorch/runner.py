"""PyTorchRunner: the runner's Describe / Parse / Emit / Save / Infer."""

import contextlib
import hashlib
import json
import os
import sys

import numpy as np

from runners.common import ir
from runners.common.errors import RunnerError
from runners.common.loading import file_stamp
from runners.common.rpc import pb
from runners.common.server import RunnerBase, describe_response, installed_version
from runners.common.tensors import atomic_write, file_ref, from_proto, link_or_copy, load_npz, save_npz, to_proto

from . import loading

READS = ["pt2", "pt", "pth"]
WRITES = ["pth", "pt2"]


@contextlib.contextmanager
def _quiet_stdout():
    """torch.onnx prints progress on stdout, which belongs to the handshake: send it to stderr."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def _short(exc, limit=600):
    text = " ".join(str(exc).strip().split())
    return "%s: %s" % (type(exc).__name__, text[:limit])


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _flatten(result):
    import torch

    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, (list, tuple)):
        out = []
        for r in result:
            out += _flatten(r)
        return out
    if isinstance(result, dict):
        out = []
        for k in result:
            out += _flatten(result[k])
        return out
    if hasattr(result, "to_tuple"):
        return _flatten(result.to_tuple())
    raise RunnerError("unsupported-attribute", "model returned %s, not tensors" % type(result).__name__)


def _to_numpy(t):
    import torch

    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:
        t = t.float()
    return t.contiguous().numpy()


def _tensor(name, array, workspace):
    """to_proto, keeping 0-d arrays 0-d (np.ascontiguousarray makes them 1-d)."""
    t = to_proto(name, array, workspace)
    if np.ndim(array) == 0:
        del t.shape[:]
    return t


def _shape_text(shape):
    return "(%s)" % ", ".join("?" if d is None or d < 0 else str(d) for d in shape)


class PyTorchRunner(RunnerBase):
    framework = "pytorch"

    # ---- Describe ---------------------------------------------------------------------------
    def describe(self):
        import onnx
        import torch

        from .emit import LACKS, registry

        versions = {"torch": torch.__version__, "onnx": onnx.__version__, "numpy": np.__version__}
        onnxscript = installed_version("onnxscript")  # torch.onnx's exporter; imported only when it exports
        if onnxscript:
            versions["onnxscript"] = onnxscript
        return describe_response(self.framework, versions, READS, WRITES, registry().ops(), LACKS)

    # ---- Parse ------------------------------------------------------------------------------
    def parse(self, req):
        import torch

        sources = [os.path.abspath(s) for s in req.sources]
        if not sources:
            raise RunnerError("missing-file", "no source files given")
        loading.check_files(sources)
        opset = req.opset or ir.IR_OPSET
        if opset < ir.IR_OPSET:
            raise RunnerError(
                "unsupported-opset",
                "torch.onnx exports opset %d or newer, not %d" % (ir.IR_OPSET, opset),
                opset=opset,
                hint="let the broker convert the IR's opset",
            )
        loaded = loading.load(sources, trust=req.trust_model, class_name=req.options.get("class", ""))
        warnings = []
        outputs = list(req.outputs) or None
        with _quiet_stdout():
            if loaded.kind == "pt2":
                outputs = outputs or self._pt2_named_outputs(loaded)
                program = self._export(loaded, loaded.exported, None, None, outputs, opset)
            else:
                args, names = self._example_inputs(req, loaded.path, loaded.module)
                model = loaded.module
                program = self._export(loaded, model, tuple(args), names, outputs, opset)
        model_proto = program.model_proto if hasattr(program, "model_proto") else program
        model_proto.producer_name = "mmbroker pytorch runner"
        meta = {"source_framework": "pytorch", "source_version": torch.__version__, "source_format": loaded.kind}
        for i, s in enumerate(sources):
            meta["source_file_%d" % i] = os.path.basename(s)
            meta["source_sha256_%d" % i] = _sha256(s)
        for k, v in meta.items():
            p = model_proto.metadata_props.add()
            p.key, p.value = k, v
        graph, weights = ir.split(model_proto)
        workspace = req.workspace or self.inbox()
        if not os.path.isdir(workspace):
            os.makedirs(workspace)
        name = req.options.get("name") or os.path.splitext(os.path.basename(loaded.path))[0]
        npz = save_npz(os.path.join(workspace, name + ".npz"), weights)
        return pb.ParseResponse(graph=graph.SerializeToString(), weights=file_ref(npz, "weights"), warnings=warnings)

    def _example_inputs(self, req, path, module):
        import inspect

        import torch

        try:  # unnamed inputs take the names of forward()'s parameters
            params = [
                p.name
                for p in inspect.signature(module.forward).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
        except (TypeError, ValueError):
            params = []
        if not req.inputs:
            raise RunnerError(
                "missing-input-shape",
                "input shapes are needed to export this model",
                file=path,
                hint="give --inputShape (e.g. 1,3,224,224)",
            )
        args, names = [], []
        for i, spec in enumerate(req.inputs):
            dims = [int(d) if d > 0 else 1 for d in spec.shape]
            dtype = getattr(torch, spec.dtype or "float32", None)
            if not isinstance(dtype, torch.dtype):
                raise RunnerError("bad-input", "unknown dtype '%s' for input %d" % (spec.dtype, i))
            if dtype.is_floating_point:
                args.append(torch.randn(*dims, dtype=dtype))
            else:
                args.append(torch.zeros(*dims, dtype=dtype))
            names.append(spec.name or (params[i] if i < len(params) else "input_%d" % i))
        return args, names

    def _export(self, loaded, model, args, names, outputs, opset):
        import torch

        kw = dict(opset_version=opset, verbose=False)
        if names:
            kw["input_names"] = names
        if outputs:
            kw["output_names"] = outputs
        try:
            return torch.onnx.export(model, args, dynamo=True, **kw)
        except Exception as exc:
            first = exc
        if loaded.kind == "torchscript":
            import io

            import onnx

            buf = io.BytesIO()
            try:
                torch.onnx.export(model, args, buf, dynamo=False, **kw)
                return onnx.load_from_string(buf.getvalue())
            except Exception as exc:
                first = exc
        raise RunnerError(
            "convert-failed",
            "torch.onnx could not export the model: %s" % _short(first),
            file=loaded.path,
            hint="run again with --debug for the exporter's log",
        )

    # ---- Emit -------------------------------------------------------------------------------
    def emit(self, req):
        from .emit import emit

        if not req.weights.path:
            raise RunnerError("missing-file", "no weights file given")
        loading.check_files([req.weights.path])
        try:
            weights = load_npz(req.weights.path)
        except Exception as exc:
            raise RunnerError("corrupt-model", "cannot read the weights: %s" % _short(exc), file=req.weights.path)
        py, pth, warnings = emit(req.graph, weights, req.out_dir or self.inbox(), req.name or "model")
        return pb.EmitResponse(files=[file_ref(py, "code"), file_ref(pth, "state_dict")], warnings=warnings)

    # ---- Save -------------------------------------------------------------------------------
    def save(self, req):
        code = [f.path for f in req.emitted if f.role == "code" or f.path.endswith(".py")]
        state = [f.path for f in req.emitted if f.role == "state_dict" or f.path.endswith(".pth")]
        if len(code) != 1 or len(state) != 1:
            raise RunnerError("missing-file", "Save needs the emitted .py (role code) and .pth (role state_dict)")
        loading.check_files(code + state)
        out = os.path.abspath(req.output)
        fmt = (req.format or os.path.splitext(out)[1].lstrip(".")).lower()
        if fmt == "pth":
            py_out = os.path.splitext(out)[0] + ".py"
            written = []
            try:
                if os.path.abspath(state[0]) != out:
                    atomic_write(out, lambda tmp: link_or_copy(state[0], tmp))
                    written.append(out)
                if os.path.abspath(code[0]) != py_out:
                    atomic_write(py_out, lambda tmp: link_or_copy(code[0], tmp))
            except BaseException:
                for w in written:
                    os.unlink(w)
                raise
            return pb.SaveResponse(files=[file_ref(out, "state_dict"), file_ref(py_out, "code")])
        if fmt == "pt2":
            import torch

            loaded = loading.load_class_and_weights(state[0], code[0], req.options.get("class", ""))
            example = self._code_example(loaded, code[0])
            try:
                with _quiet_stdout():
                    ep = torch.export.export(loaded.module, tuple(example))
            except Exception as exc:
                raise RunnerError("convert-failed", "torch.export failed: %s" % _short(exc), file=code[0])
            names = {
                "inputs": [n for n, _, _ in loaded.code.INPUTS],
                "outputs": list(getattr(loaded.code, "OUTPUTS", [])),
            }
            extra = {loading.NAMES_FILE: json.dumps(names)}
            atomic_write(out, lambda tmp: torch.export.save(ep, tmp, extra_files=extra))
            return pb.SaveResponse(files=[file_ref(out, "model")])
        raise RunnerError(
            "unsupported-format", "the pytorch runner writes %s, not '%s'" % (", ".join(WRITES), fmt), file=out
        )

    def _code_example(self, loaded, path):
        import torch

        specs = getattr(loaded.code, "INPUTS", None)
        if not specs:
            raise RunnerError("bad-code", "the code has no INPUTS table to build an example input from", file=path)
        return [
            torch.zeros([d if d > 0 else 1 for d in shape], dtype=getattr(torch, dtype)) for _, shape, dtype in specs
        ]

    # ---- Infer ------------------------------------------------------------------------------
    def infer(self, req):
        import torch

        paths = [os.path.abspath(p) for p in req.model]
        loading.check_files(paths)
        class_name = req.options.get("class", "")
        loaded = self._load_for_infer(paths, req.trust_model, class_name)
        arrays = [from_proto(t) for t in req.inputs]
        expected = self._expected_inputs(loaded)
        if expected is not None:
            self._check_inputs(expected, arrays, loaded.path)
        tensors = [torch.from_numpy(np.array(a, copy=True)) for a in arrays]
        captured = {}
        module = loaded.module
        if req.intermediates and loaded.code is not None and hasattr(loaded.code, "IR_VALUES"):
            module = self._instrumented(loaded, class_name, captured)
        else:
            module = self._lean(loaded) or module
        try:
            with torch.no_grad():
                result = module(*tensors)
        except RunnerError:
            raise
        except Exception as exc:
            given = ", ".join(_shape_text(a.shape) for a in arrays)
            raise RunnerError(
                "infer-failed", "the model failed on inputs %s: %s" % (given, _short(exc)), file=loaded.path
            )
        outs = _flatten(result)
        names = self._output_names(loaded, len(outs))
        workspace = req.workspace or None
        resp = pb.InferResponse(engine="torch %s" % torch.__version__)
        for name, t in zip(names, outs):
            resp.outputs.append(_tensor(name, _to_numpy(t), workspace))
        for name, t in captured.items():
            if isinstance(t, torch.Tensor):
                resp.intermediates.append(_tensor(name, _to_numpy(t), workspace))
        return resp

    _last_loaded = (None, None)  # (key, Loaded) of the model the last Infer ran

    def _load_for_infer(self, paths, trust, class_name):
        """The model of these files, loaded again only when they changed: a check runs the same
        converted model at two sizes (batch 1 and 3), one Infer each. The key is each file's
        device, inode, size and change times (files are replaced by renames, never rewritten in
        place); the model is in eval mode and Infer changes nothing in it."""
        key = (tuple((p,) + file_stamp(p) for p in paths), bool(trust), class_name)
        last_key, last = self._last_loaded
        if last_key == key:
            return last
        self._last_loaded = (None, None)  # the previous model goes before the next one loads
        loaded = loading.load(paths, trust=trust, class_name=class_name)
        self._last_loaded = (key, loaded)
        return loaded

    @staticmethod
    def _lean(loaded):
        """Generated code's forward() letting intermediates go (runners/pytorch/lean.py), made once
        per loaded model."""
        from .lean import lean_forward

        if not hasattr(loaded, "_lean"):
            loaded._lean = lean_forward(loaded)
        return loaded._lean

    def _instrumented(self, loaded, class_name, sink):
        from .instrument import instrumented_namespace

        with open(loaded.code_path) as f:
            source = f.read()
        ns = instrumented_namespace(source, loaded.code_path, dict(loaded.code.IR_VALUES), sink)
        cls_name = class_name or type(loaded.module).__name__
        model = ns[cls_name]()
        model.load_state_dict(loaded.module.state_dict())
        model.eval()
        return model

    def _expected_inputs(self, loaded):
        """[(name, shape)] the model expects, where the file says so."""
        if loaded.kind == "pt2":
            out = []
            ep = loaded.exported
            user = set(ep.graph_signature.user_inputs)
            for node in ep.graph.nodes:
                if node.op == "placeholder" and node.name in user:
                    val = node.meta.get("val")
                    shape = getattr(val, "shape", None)
                    if shape is None:
                        return None
                    out.append((node.name, [int(d) if isinstance(d, int) else -1 for d in shape]))
            return out
        specs = getattr(loaded.code, "INPUTS", None) if loaded.code is not None else None
        if specs:
            return [(n, list(s)) for n, s, _ in specs]
        return None

    def _check_inputs(self, expected, arrays, path):
        def bad(msg):
            return RunnerError(
                "bad-input",
                "%s; expected %s, given %s"
                % (
                    msg,
                    ", ".join("%s%s" % (n, _shape_text(s)) for n, s in expected),
                    ", ".join(_shape_text(a.shape) for a in arrays) or "nothing",
                ),
                file=path,
                hint="give one tensor per model input, in order, with the shapes expected",
            )

        if len(expected) != len(arrays):
            raise bad(
                "the model takes %d input%s, %d given" % (len(expected), "s" if len(expected) != 1 else "", len(arrays))
            )
        for (name, shape), a in zip(expected, arrays):
            if len(shape) != a.ndim or any(d >= 0 and d != g for d, g in zip(shape, a.shape)):
                raise bad("input '%s' has the wrong shape" % name)

    def _pt2_named_outputs(self, loaded):
        """Names for a .pt2's outputs where they say more than torch's node names (a returned
        mapping's keys, the IR names this runner recorded), else None: torch.onnx names them."""
        names = self._output_names(loaded, None)
        if not names or len(set(names)) != len(names):
            return None
        return None if names == list(loaded.exported.graph_signature.user_outputs) else names

    def _output_names(self, loaded, count):
        names = None
        if loaded.kind == "pt2":
            names = loading.pt2_output_names(loaded.exported)
            if loaded.names and loaded.names.get("outputs"):
                names = list(loaded.names["outputs"])
        elif loaded.code is not None and getattr(loaded.code, "OUTPUTS", None):
            names = list(loaded.code.OUTPUTS)
        if count is None:
            return names
        if not names or len(names) != count:
            names = ["output_%d" % i for i in range(count)] if count > 1 else ["output"]
        return names
