"""Hostile PyTorch files: each would run a payload when loaded the naive way. Made inside the
PyTorch runner's environment (the test process has no torch):

    <pytorch env python> tests/per_runner/hostile_pytorch.py OUT_DIR [--prove]

Every payload creates OUT_DIR/<case>.ran (a `touch`), so a test can tell whether it ran. Cases:
pickled parts of a .pt2 (a weight, a tensor constant, an opaque constant, the sample inputs), a
.pt2 whose program JSON carries code (a shape expression sympy evaluates, a guard torch execs, an
input name pasted into generated source, a node calling os.system), a `torch.save` of a
`__reduce__` payload as .pth and .pt, and a TorchScript archive whose constants.pkl holds one.
Beside them, the clean archive they are made from, a clean TorchScript archive, and two harmless
archives torch cannot read (a future schema, an unknown operator).
Writes OUT_DIR/hostile.json: [{"name", "file", "marker"}].

With --prove, each file is then loaded the naive way (torch.export.load + module + run,
torch.load(weights_only=False), torch.jit.load) in a child process, and the script fails unless
the payload ran: the corpus stays a set of live exploits, so a test that sees no marker proves
something. The markers are removed afterwards.
"""

import io
import json
import os
import pickle
import sys
import zipfile

import torch
from hostile_common import prove_and_index
from torch import nn


class Payload:
    """Unpickling this runs a shell command: what a malicious file does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, ("touch '%s'" % self.marker,))


def touch_code(marker):
    """Python source that creates `marker` (single quotes only: torch pastes guards into a
    double-quoted string)."""
    return "__import__('os').system('touch %s')" % marker


class Small(nn.Module):
    """A conv net with a buffer and a tensor constant, exported with a dynamic batch: its archive
    has weights, constants, sample inputs and symbolic shape expressions."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.register_buffer("shift", torch.randn(4))
        self.scale = torch.tensor([2.0])

    def forward(self, x):
        y = torch.relu(self.conv(x)) + self.shift.view(1, 4, 1, 1)
        return y.mean((2, 3)) * self.scale


def export_small(path):
    batch = torch.export.Dim("batch", min=1, max=64)
    ep = torch.export.export(Small(), (torch.randn(2, 3, 8, 8),), dynamic_shapes={"x": {0: batch}})
    torch.export.save(ep, path)


def torch_save_bytes(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def rewrite(src, dst, edit):
    """Copy the archive `src` to `dst`, `edit(members)` changing {root-relative name: bytes}."""
    with zipfile.ZipFile(src) as z:
        root = z.namelist()[0].split("/")[0]
        members = {n.split("/", 1)[1]: z.read(n) for n in z.namelist()}
    edit(members)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as z:
        for name, data in members.items():
            z.writestr("%s/%s" % (root, name), data)


def edit_json(members, name, change):
    doc = json.loads(members[name])
    change(doc)
    members[name] = json.dumps(doc).encode()


def pt2_cases(base, marker):
    """name -> edit function for the .pt2 archive."""
    constants, program = "data/constants/model_constants_config.json", "models/model.json"

    def pickled(folder, fqn, case):
        """A payload in place of one tensor's raw bytes, its config entry marked `use_pickle`."""

        def edit(m):
            def change(doc):
                meta = doc["config"][fqn]
                meta["use_pickle"] = True
                m["data/%s/%s" % (folder, meta["path_name"])] = torch_save_bytes(Payload(marker(case)))

            edit_json(m, "data/%s/model_%s_config.json" % (folder, folder), change)

        return edit

    def opaque_constant(m):
        def change(doc):
            doc["config"]["scale"] = {
                "path_name": "opaque_obj_0",
                "is_param": False,
                "use_pickle": True,
                "tensor_meta": None,
            }
            m["data/constants/opaque_obj_0"] = pickle.dumps(Payload(marker("pt2_opaque_constant")), protocol=2)

        edit_json(m, constants, change)

    def sample_inputs(m):
        m["data/sample_inputs/model.pt"] = torch_save_bytes(((Payload(marker("pt2_sample_inputs")),), {}))

    def shape_expression(m):
        code = touch_code(marker("pt2_shape_expression"))

        def change(node):  # every symbolic size torch parses with sympify
            if isinstance(node, dict):
                if isinstance(node.get("expr_str"), str):
                    node["expr_str"] = "%s or %s" % (code, node["expr_str"])
                for v in node.values():
                    change(v)
            elif isinstance(node, list):
                for v in node:
                    change(v)

        edit_json(m, program, change)

    def guard(m):
        edit_json(m, program, lambda doc: doc.__setitem__("guards_code", ["%s == 0" % touch_code(marker("pt2_guard"))]))

    def input_name(m):
        evil = "x=%s" % touch_code(marker("pt2_input_name"))
        m[program] = m[program].replace(b'"x"', json.dumps(evil).encode())

    def node_target(m):  # torch's verifier refuses it too; kept to show ours names it first
        def change(doc):
            graph = doc["graph_module"]["graph"]
            first = graph["nodes"][0]["outputs"][0]["as_tensor"]["name"]
            command = {"name": "command", "arg": {"as_string": "touch %s" % marker("pt2_node_target")}, "kind": 1}
            graph["nodes"].insert(
                0,
                {
                    "target": "torch.os.system",
                    "inputs": [command],
                    "outputs": [{"as_tensor": {"name": "evil"}}],
                    "metadata": {},
                    "name": "evil",
                },
            )
            graph["tensor_values"]["evil"] = graph["tensor_values"][first]

        edit_json(m, program, change)

    return {
        "pt2_pickled_weight": pickled("weights", "conv.weight", "pt2_pickled_weight"),
        "pt2_pickled_constant": pickled("constants", "scale", "pt2_pickled_constant"),
        "pt2_opaque_constant": opaque_constant,
        "pt2_sample_inputs": sample_inputs,
        "pt2_shape_expression": shape_expression,
        "pt2_guard": guard,
        "pt2_input_name": input_name,
        "pt2_node_target": node_target,
    }


def odd_cases():
    """Harmless archives torch cannot load, for the errors they get: a schema from a future torch,
    an operator this torch lacks (a custom op whose library is not loaded)."""
    program = "models/model.json"

    def future_schema(m):
        edit_json(m, program, lambda doc: doc["schema_version"].__setitem__("major", 99))

    def unknown_op(m):
        edit_json(m, program, lambda doc: doc["graph_module"]["graph"]["nodes"][0].__setitem__("target", OP))

    return {"pt2_future_schema": future_schema, "pt2_unknown_op": unknown_op}


OP = "torch.ops.mmbroker_test.missing_op.default"


def torchscript_with_payload(path, marker):
    """A scripted module whose constants.pkl is replaced by a pickle of the payload."""
    scripted = torch.jit.script(Small())
    base = path + ".clean"
    scripted.save(base)
    with zipfile.ZipFile(base) as z:
        members = [(info, z.read(info)) for info in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for info, data in members:
            if info.filename.endswith("/constants.pkl"):
                data = pickle.dumps((Payload(marker),), protocol=2)
            z.writestr(info.filename, data)
    os.unlink(base)


# cases torch 2.13 itself stops (its verifier refuses a node calling os.system; TorchScript's
# unpickler knows no posix.system): refused by the runner all the same, but not provably live
NOT_LIVE = {"pt2_node_target"}
PROVE = {
    "pt2": "import torch,sys; ep=torch.export.load(sys.argv[1]); ep.module()(torch.randn(2,3,8,8))",
    "pth": "import torch,sys; torch.load(sys.argv[1], weights_only=False)",
    "torchscript": "import torch,sys; torch.jit.load(sys.argv[1])",
}


def main(out, prove):
    os.makedirs(out, exist_ok=True)

    def marker(name):
        return os.path.join(out, name + ".ran")

    base = os.path.join(out, "clean.pt2")
    export_small(base)
    entries = [{"name": "clean_pt2", "file": base, "marker": "", "kind": "pt2", "live": False}]
    for name, edit in pt2_cases(base, marker).items():
        path = os.path.join(out, name + ".pt2")
        rewrite(base, path, edit)
        entries.append(
            {"name": name, "file": path, "marker": marker(name), "kind": "pt2", "live": name not in NOT_LIVE}
        )
    for ext in ("pth", "pt"):
        name = "torch_save_payload_" + ext
        path = os.path.join(out, "%s.%s" % (name, ext))
        torch.save({"conv.weight": Payload(marker(name))}, path)
        entries.append({"name": name, "file": path, "marker": marker(name), "kind": "pth", "live": True})
    for name, edit in odd_cases().items():
        path = os.path.join(out, name + ".pt2")
        rewrite(base, path, edit)
        entries.append({"name": name, "file": path, "marker": "", "kind": "pt2", "live": False})
    path = os.path.join(out, "torchscript_clean.pt")
    torch.jit.script(Small()).save(path)
    entries.append({"name": "torchscript_clean", "file": path, "marker": "", "kind": "torchscript", "live": False})
    path = os.path.join(out, "torchscript_constants_payload.pt")
    torchscript_with_payload(path, marker("torchscript_constants_payload"))
    entries.append(
        {
            "name": "torchscript_constants_payload",
            "file": path,
            "marker": marker("torchscript_constants_payload"),
            "kind": "torchscript",
            "live": False,
        }
    )
    prove_and_index(out, entries, prove and (lambda e: [PROVE[e["kind"]], e["file"]]))


if __name__ == "__main__":
    main(sys.argv[1], "--prove" in sys.argv[2:])
