"""convert, toir, tocode, tomodel, infer, compare."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Optional

import numpy as np
import typer

from runners.common.tensors import file_ref

from .. import parity
from ..errors import BrokerError
from ..frameworks import parse_model_ref, runner_name
from ..inputs import PreparedInputs, at_other_sizes, open_input, prepare_inputs
from ..outputs import StagedOutput, check_folder, check_output
from ..pipeline import EnvOptions, InputShape, Session, convert_request, image_preprocess, input_dim_names, input_specs
from ..pipeline import convert as run_convert
from ..remote import RemoteSpec, configured
from ..report import check_report_path, write_report
from ..shapes import ShapeHint, Spec
from ..step_files import TARGETS, code_weights, resolve_ir, save_from_code, write_code
from .app import STATE, app, err_console, out_console
from .options import (
    AllowNanOpt,
    AtolOpt,
    CaffePhaseOpt,
    ChannelOrderOpt,
    ClassOpt,
    DarknetStartOpt,
    DstNodeOpt,
    FindLinksOpt,
    InputFileOpt,
    InputShapeOpt,
    JsonOpt,
    MeanOpt,
    NoIndexOpt,
    PlaintextLoopbackOpt,
    PythonOpt,
    RemoteRunnerOpt,
    ReportOpt,
    RtolOpt,
    ScaleOpt,
    SeedOpt,
    SizeOpt,
    StdOpt,
    TlsCaOpt,
    TlsCertOpt,
    TlsKeyOpt,
    TrustOpt,
)
from .render import print_json, print_layers, print_parity


def _session(
    json_out: bool,
    python: str | None = None,
    find_links: list[str] | None = None,
    no_index: bool = False,
    workspace: Path | None = None,
    cold: bool = False,
    remotes: dict[str, RemoteSpec] | None = None,
) -> Session:
    return Session(
        console=err_console(),
        workspace=workspace,
        keep_workspace=workspace is not None,
        keep_warm=False if cold or STATE["cold"] else None,
        ir_cache=False if cold or STATE["cold"] else None,
        env_options=EnvOptions(python=python, find_links=tuple(find_links or ()), no_index=no_index),
        remotes=dict(remotes or {}),
    )


def parse_options(class_name: str | None, caffe_phase: str | None, darknet_start: str | None = None) -> dict[str, str]:
    """Runner-specific Parse options given on the command line."""
    given = {"class": class_name, "caffePhase": caffe_phase, "darknetStart": darknet_start}
    return {k: v for k, v in given.items() if v}


def _size(path: str) -> str:
    if os.path.isdir(path):  # .mlpackage, SavedModel
        n = float(sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()))
    else:
        n = float(os.path.getsize(path)) if os.path.isfile(path) else 0.0
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


@app.command(
    help="Convert a model from one framework to another and check that both compute the same "
    "outputs. Example: mmbroker convert -sf pytorch -in model.pt2 -df onnx -om model.onnx"
)
def convert(
    src: Annotated[str, typer.Option("--srcFramework", "-sf", "--src", help="Source framework.")],
    sources: Annotated[
        list[str],
        typer.Option(
            "--inputNetwork",
            "-in",
            help="Source model file(s); repeat for several (e.g. a state_dict .pth and its class .py).",
        ),
    ],
    dst: Annotated[str, typer.Option("--dstFramework", "-df", "--dst", help="Target framework.")],
    output: Annotated[Path, typer.Option("--outputModel", "-om", "--output", help="Converted model file to write.")],
    weights: Annotated[
        Optional[str],
        typer.Option("--inputWeight", "-iw", help="Source weights file, for formats that keep them apart."),
    ] = None,
    input_shape: InputShapeOpt = None,
    dst_node: DstNodeOpt = None,
    trust_model: TrustOpt = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify/--no-verify",
            help="Run both models on the same input and compare outputs element-wise (default on).",
        ),
    ] = True,
    input_file: InputFileOpt = None,
    atol: AtolOpt = parity.DEFAULT_ATOL,
    rtol: RtolOpt = parity.DEFAULT_RTOL,
    allow_nan: AllowNanOpt = False,
    keep_failed: Annotated[
        bool,
        typer.Option(
            "--keep-failed",
            help="When the check fails (or the run is interrupted after saving), keep the unverified result in "
            "<output>.failed/ instead of removing it. The file at -om is never touched by a failed run.",
        ),
    ] = False,
    seed: SeedOpt = 0,
    report_path: ReportOpt = None,
    size: SizeOpt = None,
    mean: MeanOpt = None,
    std: StdOpt = None,
    channel_order: ChannelOrderOpt = "rgb",
    input_scale: ScaleOpt = "1/255",
    code_dir: Annotated[
        Optional[Path],
        typer.Option("--code-dir", help="Also keep the generated source code and weights in this folder."),
    ] = None,
    class_name: ClassOpt = None,
    workspace: Annotated[
        Optional[Path],
        typer.Option("--workspace", help="Keep intermediate files (IR, code) here instead of a temporary folder."),
    ] = None,
    input_names: Annotated[Optional[str], typer.Option("--inputNames", help="CoreML: input names, a,b.")] = None,
    output_names: Annotated[Optional[str], typer.Option("--outputNames", help="CoreML: output names.")] = None,
    image_input_names: Annotated[
        Optional[str], typer.Option("--imageInputNames", help="CoreML: inputs that become images (default first).")
    ] = None,
    is_bgr: Annotated[bool, typer.Option("--isBGR", help="CoreML: the image input's channels are BGR.")] = False,
    red_bias: Annotated[Optional[float], typer.Option("--redBias", help="CoreML: image red bias.")] = None,
    green_bias: Annotated[Optional[float], typer.Option("--greenBias", help="CoreML: image green bias.")] = None,
    blue_bias: Annotated[Optional[float], typer.Option("--blueBias", help="CoreML: image blue bias.")] = None,
    gray_bias: Annotated[Optional[float], typer.Option("--grayBias", help="CoreML: grayscale image bias.")] = None,
    scale: Annotated[Optional[float], typer.Option("--scale", help="CoreML: image scale, applied before bias.")] = None,
    class_input_path: Annotated[
        Optional[Path], typer.Option("--classInputPath", help="CoreML: class labels file, one per line.")
    ] = None,
    caffe_phase: CaffePhaseOpt = None,
    darknet_start: DarknetStartOpt = None,
    json_out: JsonOpt = False,
    python: PythonOpt = None,
    find_links: FindLinksOpt = None,
    no_index: NoIndexOpt = False,
    remote_runner: RemoteRunnerOpt = None,
    tls_ca: TlsCaOpt = None,
    tls_cert: TlsCertOpt = None,
    tls_key: TlsKeyOpt = None,
    plaintext_loopback: PlaintextLoopbackOpt = False,
    cold: Annotated[
        bool, typer.Option("--cold", help="Start new runners and keep none warm afterwards (MMBROKER_KEEP_WARM=0).")
    ] = False,
) -> None:
    options: dict[str, Any] = {
        "inputShape": input_shape,
        "dstNode": dst_node,
        "trustModel": trust_model,
        "verify": verify,
        "input": input_file,
        "atol": atol,
        "rtol": rtol,
        "allowNan": allow_nan,
        "seed": seed,
        "report": report_path,
        "codeDir": code_dir,
        "keepFailed": keep_failed,
        "size": size,
        "mean": mean,
        "std": std,
        "channelOrder": channel_order,
        "inputScale": input_scale,
        "class": class_name,
        "caffePhase": caffe_phase,
        "darknetStart": darknet_start,
        "inputNames": input_names,
        "outputNames": output_names,
        "imageInputNames": image_input_names,
        "isBGR": is_bgr,
        "redBias": red_bias,
        "greenBias": green_bias,
        "blueBias": blue_bias,
        "grayBias": gray_bias,
        "scale": scale,
        "classInputPath": class_input_path,
    }
    all_sources = list(sources) + ([weights] if weights else [])
    req, note = convert_request(runner_name(src), all_sources, runner_name(dst), output, options)
    if note:  # the model came from `mmbroker download`: its catalogue entry says how images are prepared
        err_console().print(note, highlight=False)
    con = err_console()
    with _session(
        json_out,
        python,
        find_links,
        no_index,
        workspace,
        cold,
        remotes=configured(remote_runner, tls_ca, tls_cert, tls_key, plaintext_loopback),
    ) as s:
        done = run_convert(s, req)
    if done.written:
        con.print(f"wrote {', '.join(f'{w} ({_size(w)})' for w in done.written)}", highlight=False)
    if done.code:
        con.print(f"code and weights in {code_dir}", highlight=False)
    if done.not_verified:
        con.print(f"not verified: {done.not_verified}", highlight=False)
    if done.report is not None and report_path:
        con.print(f"report: {report_path}", highlight=False)
    if json_out:
        print_json({
            "output": done.written,
            "kept": str(done.kept) if done.kept else None,
            "ir": str(done.ir.graph) if workspace else None,
            "timings": s.timings,
            "parity": done.report.to_dict() if done.report else None,
        })  # fmt: skip
    elif done.report is not None:
        print_parity(done.report)
    if not done.written:
        con.print(f"not written: {done.note}", highlight=False)
        raise typer.Exit(1)


@app.command(
    help="Parse a model into the IR: <out>.pb (ONNX graph), <out>.npz (weights), <out>.json "
    "(summary). Example: mmbroker toir -f pytorch -in model.pt2 -o model"
)
def toir(
    framework: Annotated[str, typer.Option("--framework", "-f", help="Source framework.")],
    out: Annotated[Path, typer.Option("--dstPath", "-o", "-d", help="Output stem of the IR files.")],
    sources: Annotated[
        Optional[list[str]],
        typer.Option(
            "--inputNetwork", "-in", "--network", "-n", help="Model file(s); optional when -w names a whole model."
        ),
    ] = None,
    weights: Annotated[Optional[str], typer.Option("--inputWeight", "-iw", "--weights", "-w")] = None,
    input_shape: InputShapeOpt = None,
    dst_node: DstNodeOpt = None,
    trust_model: TrustOpt = False,
    class_name: ClassOpt = None,
    caffe_phase: CaffePhaseOpt = None,
    darknet_start: DarknetStartOpt = None,
    json_out: JsonOpt = False,
) -> None:
    files = list(sources or []) + ([weights] if weights else [])
    if not files:
        raise BrokerError("no model given", reference="missing-file", hint="pass the model with -in (or -w)")
    check_folder(out.parent, out)
    with _session(json_out) as s:
        ir = s.toir(
            runner_name(framework),
            files,
            inputs=[InputShape.parse(t) for t in input_shape or []],
            outputs=dst_node,
            trust_model=trust_model,
            options=parse_options(class_name, caffe_phase, darknet_start),
            stem=out,
        )
    if json_out:
        print_json({"graph": str(ir.graph), "weights": str(ir.weights), "summary": str(ir.summary)})
    else:
        out_console().print(f"IR written: {ir.graph}  {ir.weights}  {ir.summary}", highlight=False)


@app.command(
    help="Generate a framework's source code and weights from IR files. "
    "Example: mmbroker tocode -f pytorch -n model.pb -d code/"
)
def tocode(
    framework: Annotated[str, typer.Option("--framework", "-f", help="Target framework.")],
    graph: Annotated[Path, typer.Option("--network", "-n", "-in", help="IR graph (.pb).")],
    out_dir: Annotated[
        Path,
        typer.Option(
            "--dstModelPath", "-d", "-o", help="Folder for code and weights, or the code file (X.py, as MMdnn)."
        ),
    ],
    weights: Annotated[
        Optional[Path],
        typer.Option("--weights", "-w", "-iw", help="IR weights (.npz; x.npy finds x.npz), default beside the graph."),
    ] = None,
    name: Annotated[str, typer.Option("--name", help="Base name of the generated files.")] = "model",
    dst_weights: Annotated[
        Optional[Path],
        typer.Option("--dstWeightPath", "-dw", help="With -d X.py: the target's weights file (pickle-free, any name)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    if graph.suffix not in ("", ".pb", ".npz", ".json"):
        raise BrokerError(
            f"tocode reads IR files (a .pb graph with its .npz weights), not {graph.suffix}",
            reference="unsupported-format",
            file=str(graph),
            hint=f"make them first: mmbroker toir -f <framework> -in {graph} -o ir/{graph.stem}; or convert directly",
        )
    ir = resolve_ir(graph, weights)
    if (
        out_dir.suffix and not out_dir.is_dir()
    ) or dst_weights is not None:  # MMdnn's way: -d names the code file, -dw its weights
        with _session(json_out) as s:
            named = [p for p in write_code(s, runner_name(framework), ir, out_dir, dst_weights) if p is not None]
        out_console().print("\n".join(map(str, named)), highlight=False)
        return
    check_folder(out_dir)
    with _session(json_out) as s:
        files = s.tocode(runner_name(framework), ir, out_dir, name=name)
    paths = [f.path for f in files]
    if json_out:
        print_json({"files": [{"path": f.path, "role": f.role} for f in files]})
    else:
        out_console().print("\n".join(paths), highlight=False)


@app.command(
    help="Build native model files from generated code and weights. "
    "Example: mmbroker tomodel -f pytorch -in code/ -o model.pth"
)
def tomodel(
    framework: Annotated[str, typer.Option("--framework", "-f", help="Target framework.")],
    inputs: Annotated[list[Path], typer.Option("--inputNetwork", "-in", help="Folder or files written by tocode.")],
    output: Annotated[Path, typer.Option("--outputModel", "-o", "-om", help="Model file to write.")],
    weights: Annotated[Optional[Path], typer.Option("--inputWeight", "-iw")] = None,
    json_out: JsonOpt = False,
) -> None:
    fw = runner_name(framework)
    if len(inputs) == 1 and inputs[0].is_file() and weights is not None and fw in TARGETS:  # MMdnn's -in X.py -iw W
        with _session(json_out) as s:
            used, note = code_weights(fw, inputs[0], weights)
            if note:
                err_console().print(f"note: {note}", highlight=False)
            written = save_from_code(s, fw, inputs[0], used, output)
        out_console().print("\n".join(written), highlight=False)
        return
    paths: list[Path] = []
    for p in inputs + ([weights] if weights else []):
        if not p.exists():
            raise BrokerError("file not found", reference="missing-file", file=str(p))
        paths.extend(sorted(q for q in p.iterdir() if q.is_file()) if p.is_dir() else [p])
    refs = [file_ref(str(p), _role(p)) for p in paths]
    check_output(output)
    with _session(json_out) as s, StagedOutput(output, say=err_console().print) as stage:
        saved = stage.saved(s.tomodel(fw, refs, stage.path))
        stage.promote()
        written = [stage.final(f) for f in saved]
    if json_out:
        print_json({"files": written})
    else:
        out_console().print("\n".join(written), highlight=False)


def _role(p: Path) -> str:
    return {".py": "code", ".txt": "code", ".npz": "weights", ".pth": "weights"}.get(p.suffix, "model")


def _model_inputs(
    s: Session,
    fw: str,
    files: list[str],
    shapes: list[InputShape],
    trust: bool,
    outputs: list[str] | None = None,
    options: dict[str, str] | None = None,
) -> tuple[list[Spec], dict[str, list[str]]]:
    """The model's inputs (name, shape with None where free, dtype) and its dimension names; a
    shape given for every input by name, or declared by generated PyTorch code, is taken as it is,
    without parsing the model."""
    shapes = shapes or s.declared_inputs(fw, files)
    if shapes and all(i.name for i in shapes):
        given: list[Spec] = []
        for i in shapes:
            dims: list[int | None] = list(i.shape)
            given.append((i.name, dims, i.dtype or "float32"))
        return given, {}
    ir = s.toir(fw, files, inputs=shapes, outputs=outputs, trust_model=trust, options=options)
    return input_specs(ir), input_dim_names(ir)


# what a runner answers when a model cannot take the sizes it is given
_REFUSES_SIZE = {"bad-input", "bad-shape", "invalid-model", "infer-failed"}


def _finite_mean(a: np.ndarray) -> float:
    """The mean of an output's finite values (NaN/Inf are counted apart), 0 when it has none."""
    finite = a[np.isfinite(a)] if a.dtype.kind in "fc" else a
    return float(np.mean(finite)) if finite.size else 0.0


def _print_chosen(prepared: PreparedInputs) -> None:
    """Say on stderr which values free dimensions were given for the run."""
    for c in prepared.chosen:
        err_console().print(f"free dimension {c}", highlight=False)


@app.command(
    help="Run a model on given or seeded random input and print or save its outputs. "
    "Example: mmbroker infer model.onnx --input x.npy --out y.npz"
)
def infer(
    model: Annotated[
        str, typer.Argument(help="[framework:]file[,file...], e.g. model.onnx or pytorch:model.pth,model.py")
    ],
    input_file: InputFileOpt = None,
    input_shape: InputShapeOpt = None,
    dst_node: DstNodeOpt = None,
    seed: SeedOpt = 0,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write outputs to this .npz.")] = None,
    size: SizeOpt = None,
    mean: MeanOpt = None,
    std: StdOpt = None,
    channel_order: ChannelOrderOpt = "rgb",
    input_scale: ScaleOpt = "1/255",
    intermediates: Annotated[
        bool,
        typer.Option(
            "--intermediates",
            help="Also return every intermediate value the runner can report (keyed by IR value name).",
        ),
    ] = False,
    trust_model: TrustOpt = False,
    class_name: ClassOpt = None,
    caffe_phase: CaffePhaseOpt = None,
    darknet_start: DarknetStartOpt = None,
    json_out: JsonOpt = False,
    remote_runner: RemoteRunnerOpt = None,
    tls_ca: TlsCaOpt = None,
    tls_cert: TlsCertOpt = None,
    tls_key: TlsKeyOpt = None,
    plaintext_loopback: PlaintextLoopbackOpt = False,
) -> None:
    fw, files = parse_model_ref(model)
    options = parse_options(class_name, caffe_phase, darknet_start)
    shapes = [InputShape.parse(t) for t in input_shape or []]
    prep = image_preprocess(size, mean, std, channel_order, input_scale)
    given = open_input(input_file) if input_file else None
    if out:
        check_output(out)
    with _session(json_out, remotes=configured(remote_runner, tls_ca, tls_cert, tls_key, plaintext_loopback)) as s:
        specs, dim_names = _model_inputs(s, fw, files, shapes, trust_model, dst_node, options)
        prepared = prepare_inputs(specs, given, seed, prep, [i.hint() for i in shapes], dim_names, Path(files[0]).name)
        outs, inter, engine = s.infer(
            fw, files, prepared.arrays, intermediates=intermediates, trust_model=trust_model, outputs=dst_node,
            options=options,
        )  # fmt: skip
    if out:
        from runners.common.tensors import save_npz

        save_npz(str(out), {**{n: a for n, a in outs}, **{f"intermediate/{k}": v for k, v in inter.items()}})
    summary: dict[str, Any] = {
        "engine": engine,
        "inputs": prepared.describe(),
        "outputs": [
            {"name": n, "shape": list(a.shape), "dtype": a.dtype.name, "nonfinite": parity.nonfinite(a),
             "mean": _finite_mean(a)}
            for n, a in outs
        ],
        "intermediates": len(inter),
    }  # fmt: skip
    if json_out:
        print_json(summary)
    else:
        _print_chosen(prepared)
        con = out_console()
        con.print(f"engine: {engine}", highlight=False)
        for o in summary["outputs"]:
            odd = f"  NaN/Inf {o['nonfinite']} of {int(np.prod(o['shape']))}" if o["nonfinite"] else ""
            con.print(f"{o['name']}  {o['dtype']}  {o['shape']}  mean {o['mean']:.6g}{odd}", highlight=False)
        if inter:
            con.print(f"{len(inter)} intermediate values", highlight=False)
    for o in summary["outputs"]:
        if o["nonfinite"]:
            err_console().print(f"warning: output {o['name']!r} holds {o['nonfinite']} NaN/Inf values",
                                highlight=False)  # fmt: skip


@app.command(
    help="Run two models (any supported frameworks) on the same input and report max abs / max "
    "rel error per output. Example: mmbroker compare model.pt2 model.onnx"
)
def compare(
    model_a: Annotated[str, typer.Argument(help="Reference: [framework:]file[,file...]")],
    model_b: Annotated[str, typer.Argument(help="Candidate: [framework:]file[,file...]")],
    input_file: InputFileOpt = None,
    input_shape: InputShapeOpt = None,
    dst_node: Annotated[
        Optional[list[str]],
        typer.Option(
            "--dstNode",
            "--dstNodeName",
            "--output-node",
            help="Output node name(s) to read from the reference (TF1 checkpoints, frozen graphs).",
        ),
    ] = None,
    seed: SeedOpt = 0,
    atol: AtolOpt = parity.DEFAULT_ATOL,
    rtol: RtolOpt = parity.DEFAULT_RTOL,
    allow_nan: AllowNanOpt = False,
    layers: Annotated[
        bool,
        typer.Option(
            "--layers",
            help="Also compare every intermediate value, matched through IR value names, and name the first IR "
            "node whose output diverges (needs a candidate written by mmbroker, or ONNX).",
        ),
    ] = False,
    report_path: ReportOpt = None,
    size: SizeOpt = None,
    mean: MeanOpt = None,
    std: StdOpt = None,
    channel_order: ChannelOrderOpt = "rgb",
    input_scale: ScaleOpt = "1/255",
    trust_model: TrustOpt = False,
    class_name: Annotated[
        Optional[str], typer.Option("--class", help="PyTorch: the reference's model class (as for convert).")
    ] = None,
    caffe_phase: Annotated[
        Optional[str], typer.Option("--caffePhase", help="Caffe: the reference's phase, TEST or TRAIN.")
    ] = None,
    darknet_start: DarknetStartOpt = None,
    json_out: JsonOpt = False,
    remote_runner: RemoteRunnerOpt = None,
    tls_ca: TlsCaOpt = None,
    tls_cert: TlsCertOpt = None,
    tls_key: TlsKeyOpt = None,
    plaintext_loopback: PlaintextLoopbackOpt = False,
) -> None:
    fa, files_a = parse_model_ref(model_a)
    fb, files_b = parse_model_ref(model_b)
    options = parse_options(class_name, caffe_phase, darknet_start)
    shapes = [InputShape.parse(t) for t in input_shape or []]
    prep = image_preprocess(size, mean, std, channel_order, input_scale)
    parity.check_tolerances(atol, rtol)
    given = open_input(input_file) if input_file else None
    if report_path:
        check_report_path(report_path)
    layer_report = None
    with _session(json_out, remotes=configured(remote_runner, tls_ca, tls_cert, tls_key, plaintext_loopback)) as s:
        specs_a, dim_names = _model_inputs(s, fa, files_a, shapes, trust_model, dst_node, options)
        specs_b = specs_a
        hints = [i.hint() for i in shapes]
        if not shapes:
            try:
                specs_b, _ = _model_inputs(s, fb, files_b, shapes, trust_model)
            except BrokerError as err:
                if err.reference != "missing-input-shape":  # B cannot tell its input shapes: use A's
                    raise
        _check_same_inputs(model_a, specs_a, model_b, specs_b)
        if specs_b is not specs_a:  # B's fixed sizes fill A's free dimensions
            hints = [ShapeHint(a[0], [d for d in b[1] if d is not None], f"the other model ({model_b})")
                     for a, b in zip(specs_a, specs_b) if None not in b[1]]  # fmt: skip
        prepared = prepare_inputs(specs_a, given, seed, prep, hints, dim_names, Path(files_a[0]).name)

        def check(inputs: PreparedInputs) -> parity.ParityReport:
            done = s.verify((fa, files_a), (fb, files_b), inputs.arrays, atol=atol, rtol=rtol,
                            seed=None if input_file else seed, trust_model=trust_model, reference_outputs=dst_node,
                            reference_options=options, allow_nan=allow_nan)  # fmt: skip
            done.inputs = inputs.describe()
            return done

        report = check(prepared)
        other = None if given is not None else at_other_sizes(prepared, dim_names, seed)
        if other is not None:  # free dimensions: again at their second values (batch 3, ...)
            try:
                report.other_sizes.append(check(other))
            except BrokerError as err:
                if err.reference not in _REFUSES_SIZE:
                    raise
                sizes = ", ".join(f"{n} {'x'.join(map(str, a.shape))}" for n, a in other.arrays.items())
                report.fixed = f"at {sizes} {err.file or 'one of the models'} refuses to run ({err.reference})"
        if layers:
            from ..layers import layerwise  # onnx and the IR passes: not needed by a plain conversion

            layer_report = layerwise(s, (fa, files_a), (fb, files_b), prepared.arrays, atol=atol, rtol=rtol,
                                     reference_options=options, allow_nan=allow_nan, input_shapes=shapes)  # fmt: skip
    if report_path:
        write_report(report_path, report, report.inputs, layer_report, title=f"{model_a} vs {model_b}")
    if json_out:
        print_json({**report.to_dict(), "layers": layer_report.to_dict() if layer_report else None})
    else:
        print_parity(report)
        if layer_report is not None:
            print_layers(layer_report)
        if report_path:
            err_console().print(f"report: {report_path}", highlight=False)
    if not report.passed or (layer_report is not None and layer_report.first_divergent is not None):
        raise typer.Exit(1)


def _check_same_inputs(a: str, specs_a: list[Spec], b: str, specs_b: list[Spec]) -> None:
    """Both models take inputs of the same ranks and, where both fix a dimension, the same size."""

    def agree(x: list[int | None], y: list[int | None]) -> bool:
        return len(x) == len(y) and all(p is None or q is None or p == q for p, q in zip(x, y))

    if len(specs_a) != len(specs_b) or not all(agree(p[1], q[1]) for p, q in zip(specs_a, specs_b)):
        raise BrokerError(
            f"the models take different inputs: {a} takes "
            + ", ".join(f"{n} {s}" for n, s, _ in specs_a)
            + f"; {b} takes "
            + ", ".join(f"{n} {s}" for n, s, _ in specs_b),
            reference="input-mismatch",
            hint="compare models of the same input signature, or give --inputShape",
        )
