"""MMdnn's programs, run as its documents write them: mmconvert, mmtoir, mmtocode, mmtomodel,
mmdownload, mmvismeta.

Written with argparse rather than typer: these mirror MMdnn's own argparse programs flag for flag —
options taking several values (`--inputShape 3,224,224 ...`, `-node a b`), single-dash long names
(`-in`, `-iw`, `-dw`, `-node`, `-inode`) and the prefixes argparse accepts (`--dstNode` for
`--dstNodeName`), which click cannot express. Nothing here converts: every program calls
`broker.pipeline` (through `broker.step_files` for the named files of the steps).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Sequence

from .. import parity
from ..errors import BrokerError
from ..frameworks import runner_name
from ..pipeline import InputShape, Session, convert_request
from ..pipeline import convert as run_convert
from ..step_files import TARGETS, code_weights, resolve_ir, save_from_code, save_from_ir, write_code
from .app import STATE, err_console, main, out_console

PICKLE_FREE = (
    "Weights stay pickle-free whatever the files are called: IR weights are an .npz read with "
    "allow_pickle=False (-w x.npy finds the x.npz mmtoir wrote), a target's weights are its own "
    "non-executable format (PyTorch state_dict read with weights_only=True, MXNet .params, .npz, "
    ".caffemodel); MMdnn's pickled .npy weights are refused."
)


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description, epilog=PICKLE_FREE)
    p.add_argument("--debug", action="store_true", help="Show tracebacks and runner logs on errors.")
    return p


def _trust(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--trust-model",
        action="store_true",
        help="Allow formats that can run code when loaded (pickled nn.Module, Keras Lambda).",
    )


def _ir_source_options(p: argparse.ArgumentParser) -> None:
    """The options of MMdnn's convertToIR that mmconvert passes on."""
    p.add_argument(
        "--inputShape",
        nargs="+",
        metavar="SHAPE",
        help="Input shape(s): 3,224,224 (MMdnn's, without batch) or 1,3,224,224; one per input node.",
    )
    p.add_argument(
        "--dstNodeName", "-node", "--dstNode", nargs="+", metavar="NODE", help="[TensorFlow] output node name(s)."
    )
    p.add_argument(
        "--inputNodeName", "-inode", nargs="+", metavar="NODE", help="Input node name(s), paired with --inputShape."
    )
    p.add_argument("--caffePhase", help="[Caffe] the phase whose layers are kept, TEST or TRAIN.")
    p.add_argument("--class", dest="class_name", help="[PyTorch] the nn.Module class for a state_dict .pth.")
    p.add_argument("--darknetStart", choices=["0", "1"], help="[DarkNet] 0 or 1: 32- or 64-bit seen counter.")
    _trust(p)


def input_shapes(shapes: Sequence[str] | None, names: Sequence[str] | None) -> list[InputShape]:
    """MMdnn's `--inputShape` values: one `3,224,224` per input (paired with `-inode` names), or the
    old form of one shape as separate integers (`--inputShape 3 224 224`)."""
    shapes, names = list(shapes or []), list(names or [])
    if len(shapes) > 1 and all(s.strip().isdigit() for s in shapes) and len(names) <= 1:
        shapes = [",".join(s.strip() for s in shapes)]
    if names and len(names) != len(shapes):
        raise BrokerError(
            f"{len(names)} input node name(s) but {len(shapes)} input shape(s)",
            reference="bad-option",
            hint="give one --inputShape per -inode name, in the same order",
        )
    return [InputShape.parse(f"{n}:{s}" if n else s) for n, s in zip(names or [""] * len(shapes), shapes)]


def _dump_tag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dump_tag", choices=["SERVING", "TRAINING"], help="[TensorFlow] only SERVING is written.")


def _check_dump_tag(args: argparse.Namespace) -> None:
    if args.dump_tag == "TRAINING":
        raise BrokerError(
            "--dump_tag TRAINING is not supported: models are written for inference",
            reference="bad-option",
            hint="leave --dump_tag out, or give SERVING",
        )


def _parse_options(args: argparse.Namespace) -> dict[str, str]:
    from .cmd_convert import parse_options

    return parse_options(args.class_name, args.caffePhase, args.darknetStart)


def _run(program: Callable[[list[str]], None]) -> None:
    def entry() -> None:
        program(sys.argv[1:])

    main(entry)


def _start(p: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    args = p.parse_args(argv)
    STATE["debug"] = args.debug
    return args


def _say(text: str) -> None:
    out_console().print(text, highlight=False, markup=False)


# -- mmtoir ---------------------------------------------------------------------------------------
_TOCODE_FLAGS = ("IRModelPath", "IRWeightPath", "dstModelPath", "dstWeightPath")


def toir(argv: list[str]) -> None:
    p = _parser(
        "mmtoir",
        "Convert a model to the IR: <dstPath>.pb (ONNX graph), <dstPath>.npz (weights) and "
        "<dstPath>.json (summary). Example: mmtoir -f keras -w imagenet_inception_v3.h5 -o keras_inception_v3",
    )
    p.add_argument(
        "--srcFramework",
        "-f",
        required=True,
        help="Source framework (caffe, cntk, mxnet, keras, tensorflow, tf, pytorch, onnx, coreml).",
    )
    p.add_argument("--weights", "-w", "-iw", help="Model weights (caffemodel, keras .h5, checkpoint prefix, .params).")
    p.add_argument("--network", "-n", "-in", help="Model network file (prototxt, .meta, -symbol.json, .model, ...).")
    p.add_argument("--dstPath", "-d", "-o", help="Stem of the IR files to write.")
    _ir_source_options(p)
    for flag in _TOCODE_FLAGS:  # mmtocode's, shown with mmtoir in MMdnn's PyTorch README
        p.add_argument(f"--{flag}", help=argparse.SUPPRESS)
    p.add_argument("-dw", "-ow", dest="dstWeightPath", help=argparse.SUPPRESS)
    args = _start(p, argv)
    given = [f for f in _TOCODE_FLAGS if getattr(args, f)]
    if given:
        err_console().print(
            f"note: {', '.join('--' + f for f in given)} are mmtocode's options (MMdnn's PyTorch "
            "README writes them after mmtoir): running mmtocode",
            highlight=False,
        )
        tocode(argv)
        return
    if not args.dstPath:
        p.error("the following arguments are required: --dstPath/-d/-o")
    sources = [s for s in (args.network, args.weights) if s]
    if not sources:
        raise BrokerError("no model given", reference="missing-file", hint="give the model with -n and/or -w")
    fw = runner_name(args.srcFramework)
    with Session(console=err_console()) as s:
        ir = s.toir(
            fw,
            sources,
            inputs=input_shapes(args.inputShape, args.inputNodeName),
            outputs=args.dstNodeName,
            trust_model=args.trust_model,
            options=_parse_options(args),
            stem=Path(args.dstPath),
        )
    _say(f"IR network structure is saved as [{ir.summary}].")
    _say(f"IR network structure is saved as [{ir.graph}].")
    _say(f"IR weights are saved as [{ir.weights}].")


# -- mmtocode -------------------------------------------------------------------------------------
def tocode(argv: list[str]) -> None:
    p = _parser(
        "mmtocode",
        "Generate a framework's code and weights from the IR. Example: mmtocode -f pytorch "
        "-n converted.pb -w converted.npy -d converted_pytorch.py -dw converted_pytorch.npy",
    )
    p.add_argument("--dstFramework", "-f", required=True, help="Target framework.")
    p.add_argument("--IRModelPath", "-n", "-in", required=True, help="IR graph (.pb written by mmtoir).")
    p.add_argument("--IRWeightPath", "-w", "-iw", help="IR weights (default: the .npz beside the graph).")
    p.add_argument(
        "--dstModelPath",
        "-d",
        "-o",
        required=True,
        help="The code file to write (X.py; a .prototxt for Caffe), or a folder.",
    )
    p.add_argument(
        "--dstWeightPath",
        "-dw",
        "-ow",
        help="The target's weights file to write (default: beside the code, the target's own suffix).",
    )
    p.add_argument("--phase", choices=["train", "test"], default="test", help="Only 'test' (inference) code is made.")
    args = _start(p, argv)
    if args.phase == "train":
        raise BrokerError(
            "--phase train is not supported: the generated code is for inference (test)",
            reference="bad-option",
            hint="leave --phase out",
        )
    fw = runner_name(args.dstFramework)
    ir = resolve_ir(Path(args.IRModelPath), Path(args.IRWeightPath) if args.IRWeightPath else None)
    code = Path(args.dstModelPath)
    if code.is_dir() or args.dstModelPath.endswith("/"):
        code = code / (ir.graph.stem + (TARGETS[fw].code_suffix if fw in TARGETS else ".txt"))
    with Session(console=err_console()) as s:
        written, weights = write_code(s, fw, ir, code, Path(args.dstWeightPath) if args.dstWeightPath else None)
    _say(f"Target network code snippet is saved as [{written}].")
    if weights is not None:
        _say(f"Target weights are saved as [{weights}].")


# -- mmtomodel ------------------------------------------------------------------------------------
def tomodel(argv: list[str]) -> None:
    p = _parser(
        "mmtomodel",
        "Build a native model from generated code and weights (or straight from the IR). "
        "Example: mmtomodel -f pytorch -in converted_pytorch.py -iw converted_pytorch.npy -o converted_pytorch.pth",
    )
    p.add_argument("--framework", "-f", required=True, help="Target framework.")
    p.add_argument(
        "--inputNetwork",
        "-in",
        "-n",
        required=True,
        help="The code mmtocode wrote (X.py, or X without .py), or an IR graph .pb.",
    )
    p.add_argument(
        "--inputWeight",
        "-iw",
        "-w",
        help="Its weights (mmtocode's -dw); IR weights mean the weights written beside the code.",
    )
    p.add_argument("--outputModel", "-o", "-om", "--dump", required=True, help="The model file to write.")
    _dump_tag(p)
    args = _start(p, argv)
    _check_dump_tag(args)
    fw = runner_name(args.framework)
    network = Path(args.inputNetwork)
    weights = Path(args.inputWeight) if args.inputWeight else None
    output = Path(args.outputModel)
    with Session(console=err_console()) as s:
        if network.suffix == ".pb":
            ir = resolve_ir(network, weights)
            written = save_from_ir(s, fw, ir, output)
            used = ir.weights
        else:
            suffix = TARGETS[fw].code_suffix if fw in TARGETS else ".py"
            if not network.exists() and not network.suffix and network.with_suffix(suffix).is_file():
                network = network.with_suffix(suffix)  # MMdnn's `-n converted_cntk`
            used, note = code_weights(fw, network, weights)
            if note:
                err_console().print(f"note: {note}", highlight=False)
            written = save_from_code(s, fw, network, used, output)
    _say(f"{fw} model file is saved as [{', '.join(written)}], generated by [{network}] and [{used}].")


# -- mmconvert ------------------------------------------------------------------------------------
def convert(argv: list[str]) -> None:
    p = _parser(
        "mmconvert",
        "Convert a model between frameworks in one step and check that both compute the same "
        "outputs. Example: mmconvert -sf tensorflow -in imagenet_inception_v3.ckpt.meta -iw inception_v3.ckpt "
        "--dstNode MMdnn_Output -df pytorch -om tf_to_pytorch_inception_v3.pth",
    )
    p.add_argument("--srcFramework", "-sf", required=True, help="Source framework.")
    p.add_argument("--inputWeight", "-iw", help="Source weights (caffemodel, .h5, checkpoint prefix, .params, .model).")
    p.add_argument("--inputNetwork", "-in", help="Source network file (prototxt, .meta, -symbol.json, ...).")
    p.add_argument("--dstFramework", "-df", required=True, help="Target framework.")
    p.add_argument("--outputModel", "-om", required=True, help="The converted model file to write.")
    _dump_tag(p)
    _ir_source_options(p)
    p.add_argument("--no-verify", action="store_true", help="Skip the parity check.")
    p.add_argument("--input", type=Path, help="Verify on this input (.npy, .npz or an image) instead of random data.")
    p.add_argument("--atol", type=float, default=parity.DEFAULT_ATOL, help="Absolute tolerance of the check.")
    p.add_argument("--rtol", type=float, default=parity.DEFAULT_RTOL, help="Relative tolerance of the check.")
    p.add_argument("--keep-failed", action="store_true", help="Keep an unverified result in <output>.failed/.")
    args = _start(p, argv)
    _check_dump_tag(args)
    sources = [s for s in (args.inputNetwork, args.inputWeight) if s]
    if not sources:
        raise BrokerError("no model given", reference="missing-file", hint="give the model with -in and/or -iw")
    output = Path(args.outputModel)
    shapes = input_shapes(args.inputShape, args.inputNodeName)
    options = {
        "inputShape": [f"{i.name}:{','.join(map(str, i.shape))}" if i.name else ",".join(map(str, i.shape))
                       for i in shapes],
        "dstNode": args.dstNodeName,
        "trustModel": args.trust_model,
        "verify": not args.no_verify,
        "input": args.input,
        "atol": args.atol,
        "rtol": args.rtol,
        "keepFailed": args.keep_failed,
        **_parse_options(args),
    }  # fmt: skip
    req, note = convert_request(runner_name(args.srcFramework), sources, runner_name(args.dstFramework), output,
                                options)  # fmt: skip
    if note:
        err_console().print(note, highlight=False)
    with Session(console=err_console()) as s:
        done = run_convert(s, req)
    from .render import print_parity

    if done.report is not None:
        print_parity(done.report)
    if not done.written:
        err_console().print(f"not written: {done.note}", highlight=False)
        sys.exit(1)
    _say(f"{req.dst} model file is saved as [{', '.join(done.written)}].")


# -- console scripts ------------------------------------------------------------------------------
def mmconvert() -> None:
    _run(convert)


def mmtoir() -> None:
    _run(toir)


def mmtocode() -> None:
    _run(tocode)


def mmtomodel() -> None:
    _run(tomodel)


def mmdownload() -> None:
    from .cmd_download import mmdownload_program

    _run(mmdownload_program)


def mmvismeta() -> None:
    from .cmd_vis import mmvismeta_program

    _run(mmvismeta_program)
