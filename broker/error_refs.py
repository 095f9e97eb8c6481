"""The one table of error references: what each means and what the user can do about it.

Every error mmbroker shows carries one of these references (`error[missing-file]: ...`). A
reference names what the user can do, not where the error was found: the same fix gets the same
reference in the broker and in every runner. A raise that gives no hint gets the table's.
`docs/errors.md` is generated from this table (`python -m broker.error_refs > docs/errors.md`);
a unit test checks that it is current and that every reference used in broker/ and runners/ is here.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    name: str
    group: str
    meaning: str
    hint: str


GROUPS = {
    "input": "Files and options given on the command line",
    "model": "The model file",
    "express": "What a framework can express",
    "compare": "Comparing two models",
    "env": "Runner environments",
    "runner": "Runner processes",
    "remote": "Remote runners (mmbroker runner serve, --runner FRAMEWORK=grpcs://HOST:PORT)",
    "download": "Downloading pretrained models (mmbroker download, mmdownload)",
    "bug": "mmbroker itself",
}

_TABLE = [
    # -- files and options ------------------------------------------------------------------
    ("missing-file", "input",
     "A file the command needs was not given or does not exist: the model, its weights, its class file, "
     "a checkpoint part, an input tensor file, the IR's .npz.",
     "check the path, and give every file the model is made of (e.g. the weights with -iw)"),
    ("not-a-file", "input",
     "A folder was given where a file is expected.",
     "give the file itself, not the folder that holds it"),
    ("bad-option", "input",
     "An option's value cannot be used: not a number or shape, an unknown framework, an option that does "
     "not apply to this format or step.",
     "fix the option as the message says; `mmbroker <command> --help` lists the options"),
    ("unknown-node", "input",
     "A node, layer or input named on the command line (--dstNode, --inputShape name:...) is not in the "
     "model, or the model has no output node to read.",
     "name one of the nodes the message lists"),
    ("bad-input", "input",
     "The input tensors given (--input, or the inputs to run) do not fit the model: their number, names, "
     "shapes or dtypes differ, or the file cannot be read.",
     "give one tensor per model input, named as the model's inputs and of their shapes (.npy, .npz)"),
    ("bad-shape", "input",
     "An input shape (given with --inputShape, or declared in the model) cannot be used: a dimension that "
     "is not positive or too large, the wrong rank, sizes that do not fit the model's layers.",
     "give positive sizes of the model's rank with --inputShape, e.g. 1,3,224,224"),
    ("missing-input-shape", "input",
     "The model does not say the size of an input, and this step needs it.",
     "give it with --inputShape (name:1,3,224,224 for one of several inputs)"),
    ("unsupported-format", "input",
     "The file is in a format this framework's runner does not read, or the output name has an "
     "extension it does not write.",
     "use one of the formats the message lists"),
    ("output-not-writable", "input",
     "The output cannot be written where it was asked: its folder cannot be created or written, or a "
     "folder or a link out of the folder is in the way. Checked before any conversion work.",
     "choose another output path, or make its folder writable"),
    ("missing-dependency", "input",
     "A Python package the broker needs for this feature is not installed.",
     "install the package the message names into mmbroker's own environment"),
    # -- the model ---------------------------------------------------------------------------
    ("corrupt-model", "model",
     "The file cannot be read: it is empty, truncated, damaged, not the format its name says, or holds "
     "names that are not text.",
     "copy or export the model again, and check that the whole file arrived"),
    ("invalid-model", "model",
     "The file reads, but the model in it is not consistent: the ONNX checker rejects it, a value is used "
     "before it is computed, a layer's parameters contradict its inputs, the net declares no input, or the "
     "framework refuses the net it describes.",
     "fix the model at the node the message names, or export it again from the framework that made it"),
    ("weights-mismatch", "model",
     "The weights do not fit the model, graph or code they were given with: tensors are missing, extra, "
     "or of other shapes.",
     "give the weights saved with this model (the same .prototxt, symbol, class file or conversion)"),
    ("unsafe-model", "model",
     "Reading the file would run code stored in it (pickled Python objects, Keras Lambda layers) or read "
     "files outside the model's folder; nothing was run or read.",
     "get the model in a form that holds no code (a state_dict with its class file, .onnx, .keras without "
     "Lambda layers); for a file you trust, --trust-model allows code in it"),
    ("bad-code", "model",
     "Python code given with the model (a PyTorch class file, or code written by tocode) does not import, "
     "does not run, or does not define what is needed.",
     "fix the code at the place the message names; give code written by tocode unchanged, with its weights"),
    ("unsupported-opset", "model",
     "The model's opset cannot be brought to the IR opset by the ONNX version converter.",
     "export the model at opset 18, or simplify it first (e.g. with onnxsim)"),
    # -- what frameworks express -------------------------------------------------------------
    ("unsupported-op", "express",
     "The framework has no conversion for this op or layer type; every such node is listed.",
     "convert to another target framework, or replace these ops in the source model"),
    ("unsupported-attribute", "express",
     "The framework converts this op, but not with this attribute value, dtype, kind of input, or as a "
     "constant output.",
     "convert to another target framework, or change this node in the source model"),
    ("convert-failed", "express",
     "A framework's own converter or exporter (tf2onnx, torch.onnx, torch.export, mxnet.onnx, the TFLite "
     "converter, coremltools) refused the model.",
     "try another target framework or output format; run again with --debug for the converter's log"),
    ("infer-failed", "express",
     "The framework raised an error loading or running the model on the given inputs.",
     "check the inputs' shapes and dtypes; run again with --debug for the framework's own message"),
    # -- comparing ---------------------------------------------------------------------------
    ("input-mismatch", "compare",
     "The two models to compare take different inputs.",
     "compare models of the same input signature, or give --inputShape"),
    ("output-mismatch", "compare",
     "The two models have different numbers of outputs, so they cannot be compared output by output.",
     "select the same outputs on both sides (--dstNode)"),
    ("no-intermediates", "compare",
     "The layer-wise comparison (--layers) finds no intermediate values to match between the two models.",
     "compare a model with one converted from it by mmbroker, or with an ONNX model"),
    # -- environments ------------------------------------------------------------------------
    ("env-damaged", "env",
     "A built environment's files changed since it was built (a module or library deleted or edited).",
     "rebuild it: mmbroker env setup <framework>"),
    ("env-busy", "env",
     "Another process is building the same environment.",
     "wait for it; if no build runs, remove the lock file the message names"),
    ("env-create-failed", "env",
     "The virtual environment could not be created.",
     "check the interpreter and the free disk space; the message gives the installer's output"),
    ("env-install-failed", "env",
     "Installing the runner's pinned requirements failed.",
     "check the network or the --find-links folder; the message gives the installer's output"),
    ("env-hook-failed", "env",
     "A runner's setup hook (a build step such as compiling Caffe) failed.",
     "read the hook's output in the message; run again with --debug"),
    ("env-library-missing", "env",
     "A system library the runner links against is not installed.",
     "install the system package the message names"),
    ("env-system-packages", "env",
     "Debian packages the runner needs are not installed (and the broker is not root).",
     "run the apt-get command the message gives as root, then run the command again"),
    ("env-verify-failed", "env",
     "A newly built environment does not start its runner.",
     "run mmbroker env doctor <framework>; the message gives the runner's output"),
    ("env-not-built", "env",
     "The environment asked for is not built.",
     "build it: mmbroker env setup <framework>"),
    ("env-not-found", "env",
     "No built environment matches the framework or key given.",
     "see the frameworks and keys with: mmbroker env list"),
    ("env-remove-what", "env",
     "env remove was given nothing to remove.",
     "mmbroker env remove FRAMEWORK, mmbroker env remove KEY, or mmbroker env remove --all"),
    ("env-unknown-framework", "env",
     "The framework named has no runner in this installation.",
     "use one of the frameworks the message lists"),
    ("env-python-missing", "env",
     "No interpreter in the runner's Python range was found.",
     "install one (the message says how), or give it with --python"),
    ("env-python-unsupported", "env",
     "The interpreter given or found is outside the runner's Python range.",
     "give an interpreter in the range the message names with --python"),
    ("env-python-not-runnable", "env",
     "The interpreter given does not run.",
     "give the path of a working python executable with --python"),
    ("env-spec-invalid", "env",
     "A runner's runner.toml or requirements.txt cannot be read.",
     "fix the file the message names (a packaging error of this installation)"),
    ("env-requirement-option", "env",
     "A runner's requirements.txt has an installer option that is not allowed there.",
     "keep only exact pins and index options in requirements.txt"),
    ("env-requirement-not-pinned", "env",
     "A runner's requirements.txt has a requirement that is not an exact pin.",
     "pin one version (name==version)"),
    ("env-requirement-duplicate", "env",
     "A runner's requirements.txt pins a package twice.",
     "keep one pin per package"),
    # -- runner processes --------------------------------------------------------------------
    ("runner-crashed", "runner",
     "A runner process died during a call: the framework crashed on this input or ran out of memory.",
     "the runner's log tail in the message says where; report it with the model if the model is valid"),
    ("worker-lost", "runner",
     "mmbroker batch: the Ray worker or node running a cell was lost at every attempt (killed, out of memory, "
     "the node left the cluster); the cell has no result and runs again when the batch is resumed.",
     "run the same mmbroker batch command again; give the workers more memory if they were killed for it"),
    ("runner-timeout", "runner",
     "A runner did not answer a call within its deadline; it was stopped.",
     "raise MMBROKER_CALL_TIMEOUT (seconds) for very large models"),
    ("runner-start-failed", "runner",
     "A runner process could not be started.",
     "rebuild its environment: mmbroker env setup <framework> --force"),
    ("runner-start-timeout", "runner",
     "A runner did not become ready within its start timeout.",
     "raise MMBROKER_START_TIMEOUT on a slow machine; the message names the runner's log"),
    ("runner-exited-early", "runner",
     "A runner exited before it was ready: its environment does not load.",
     "check its environment: mmbroker env doctor <framework>"),
    ("runner-protocol-error", "runner",
     "A runner printed something other than its handshake line.",
     "a runner must print only its handshake on stdout; see the runner's log"),
    ("runner-protocol-mismatch", "runner",
     "A runner speaks another protocol version than the broker.",
     "rebuild its environment: mmbroker env setup <framework> --force"),
    # -- remote runners ----------------------------------------------------------------------
    ("remote-unreachable", "remote",
     "No connection to a remote runner: nothing listens at the address (connection refused), or the host "
     "cannot be reached.",
     "start it on that host with mmbroker runner serve FRAMEWORK --listen HOST:PORT, or fix --runner's address"),
    ("remote-tls-refused", "remote",
     "The mutual TLS handshake with a remote runner failed; the message says which side refused which "
     "certificate and why (no client certificate, one from another CA, a server certificate this client's "
     "--tls-ca did not sign, a plaintext connection to a TLS server).",
     "give --tls-ca (the CA of the server's certificate) and --tls-cert/--tls-key signed by the CA the server "
     "was started with (--client-ca)"),
    ("remote-busy", "remote",
     "A remote runner is serving as many requests as it accepts at once (its --max-requests).",
     "run the command again later, or start the runner with a higher --max-requests"),
    ("remote-request-too-large", "remote",
     "A request sends more data to a remote runner than it accepts (its --max-request-mb).",
     "start the runner with a higher --max-request-mb, or convert on the host that holds the model"),
    ("remote-digest-mismatch", "remote",
     "A file sent to or received from a remote runner arrived with another sha256 than it left with.",
     "the network or a proxy changed the data: run the command again"),
    ("unsafe-path", "remote",
     "A request to a remote runner names a path outside its workspace (absolute, or climbing out with ..); "
     "the runner refuses it.",
     "use mmbroker's --runner option, which sends files by name into the request's workspace"),
    # -- downloads ---------------------------------------------------------------------------
    ("download-failed", "download",
     "A model file could not be fetched: an HTTP error, a host that cannot be reached, a --mirror folder "
     "without the file, a download that broke off (a part is kept and resumed next time).",
     "check the network or the URL, run the same command again to resume, or fetch from a local copy with "
     "--mirror DIR|URL"),
    ("digest-mismatch", "download",
     "A downloaded file does not have the digest its publisher states: changed or corrupted on the way. "
     "Nothing of it is kept.",
     "run the download again, or take the file from another --mirror"),
    # -- bugs --------------------------------------------------------------------------------
    ("internal-bug", "bug",
     "An exception inside mmbroker's own code, in the broker or in a runner (or an unexpected failure of a "
     "framework library): not a problem with the input.",
     "run again with --debug and report it, with the traceback and, if you can, the model"),
]  # fmt: skip

REFERENCES: dict[str, Reference] = {
    name: Reference(name, group, meaning, hint) for name, group, meaning, hint in _TABLE
}


def default_hint(reference: str) -> str:
    ref = REFERENCES.get(reference)
    return ref.hint if ref else ""


def render_markdown() -> str:
    """docs/errors.md: the table, grouped."""
    lines = [
        "# Error references",
        "",
        "Every error mmbroker prints starts with a reference, e.g. `error[missing-file]: model.onnx: file not "
        "found`, followed by a hint. The reference says what kind of problem it is and so what can be done "
        "about it; `--json` output and scripts can rely on it. A traceback is shown only with `--debug`.",
        "",
        "Generated from `broker/error_refs.py` by `python -m broker.error_refs > docs/errors.md`.",
    ]
    for group, title in GROUPS.items():
        refs = [r for r in REFERENCES.values() if r.group == group]
        lines += ["", f"## {title}", "", "| reference | meaning | what to do |", "|---|---|---|"]
        lines += [f"| `{r.name}` | {_cell(r.meaning)} | {_cell(r.hint)} |" for r in refs]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


if __name__ == "__main__":
    sys.stdout.write(render_markdown())
