"""Option types shared by several commands (MMdnn's flag names accepted as aliases)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

InputShapeOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--inputShape",
        "--input-shape",
        help="Input shape, NCHW with batch: 1,3,224,224 or "
        "name:1,3,224,224 (TensorFlow: the model's NHWC, or MMdnn's 299,299,3 without batch). "
        "MMdnn's form without the batch keeps the batch free; ?, -1 or a name leaves any dimension "
        "free (N,3,224,224; ids:batch,seq). Repeat for several inputs. Needed when the model file has no shapes.",
    ),
]
DstNodeOpt = Annotated[
    Optional[list[str]],
    typer.Option("--dstNode", "--dstNodeName", "--output-node", help="Output node name(s) to convert up to."),
]
TrustOpt = Annotated[
    bool,
    typer.Option(
        "--trust-model",
        help="Allow loading formats that can run code (pickled PyTorch modules, "
        "Keras Lambda layers). Only for files you trust.",
    ),
]
ClassOpt = Annotated[
    Optional[str],
    typer.Option("--class", help="PyTorch: the nn.Module class in the given .py for a state_dict .pth."),
]
CaffePhaseOpt = Annotated[
    Optional[str],
    typer.Option("--caffePhase", help="Caffe: the phase whose layers are kept (include/exclude rules), TEST or TRAIN."),
]
DarknetStartOpt = Annotated[
    Optional[str],
    typer.Option(
        "--darknetStart",
        help="DarkNet: the .weights header's 'seen' counter is 32-bit (0) or 64-bit (1), overriding its version "
        "(MMdnn's flag; by default the version says which).",
    ),
]
PythonOpt = Annotated[
    Optional[str], typer.Option("--python", help="Interpreter for building a runner environment that is missing.")
]
FindLinksOpt = Annotated[
    Optional[list[str]], typer.Option("--find-links", help="Folder of wheels for offline environment builds.")
]
NoIndexOpt = Annotated[bool, typer.Option("--no-index", help="Install runner environments without package indexes.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the random verification input.")]
AtolOpt = Annotated[float, typer.Option("--atol", help="Absolute tolerance of the parity check.")]
RtolOpt = Annotated[float, typer.Option("--rtol", help="Relative tolerance of the parity check.")]
AllowNanOpt = Annotated[
    bool,
    typer.Option(
        "--allow-nan",
        help="Accept NaN/Inf in the outputs where both models have the same value at the same place "
        "(by default any NaN or Inf fails the check).",
    ),
]
InputFileOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--input",
        help="Input tensors for verification/inference: .npy (one input) or .npz "
        "(keyed by input name), instead of seeded random data.",
    ),
]
ReportOpt = Annotated[
    Optional[Path],
    typer.Option("--report", help="Write a verification report: .html (with error histograms and plots) or .md."),
]
SizeOpt = Annotated[
    Optional[str], typer.Option("--size", help="Image inputs: resize to HEIGHT,WIDTH (default: the input shape's).")
]
MeanOpt = Annotated[
    Optional[str],
    typer.Option(
        "--mean", help="Image inputs: per-channel mean subtracted after scaling, e.g. 0.485,0.456,0.406."
    ),  # fmt: skip
]
StdOpt = Annotated[
    Optional[str], typer.Option("--std", help="Image inputs: per-channel std divided by, e.g. 0.229,0.224,0.225.")
]
ChannelOrderOpt = Annotated[str, typer.Option("--channel-order", help="Image inputs: rgb or bgr.")]
ScaleOpt = Annotated[
    str, typer.Option("--input-scale", help="Image inputs: pixel values are multiplied by this first (1/255).")
]
RemoteRunnerOpt = Annotated[
    Optional[list[str]],
    typer.Option(
        "--runner",
        help="Use a runner served on another host (mmbroker runner serve): FRAMEWORK=grpcs://HOST:PORT, with "
        "--tls-ca/--tls-cert/--tls-key; repeat for several. Also read from $MMBROKER_HOME/remote.toml.",
    ),
]
TlsCaOpt = Annotated[
    Optional[Path], typer.Option("--tls-ca", help="Remote runners: the CA that signed their server certificates.")
]
TlsCertOpt = Annotated[
    Optional[Path], typer.Option("--tls-cert", help="Remote runners: this client's certificate (PEM).")
]
TlsKeyOpt = Annotated[Optional[Path], typer.Option("--tls-key", help="Remote runners: this client's private key.")]
PlaintextLoopbackOpt = Annotated[
    bool,
    typer.Option(
        "--plaintext-loopback", help="Remote runners: allow grpc:// (no TLS) to a loopback address, for tests."
    ),
]
