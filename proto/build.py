"""Compile the .proto files in this folder into runners/common/runner.desc.

The runtime loads that serialized FileDescriptorSet instead of generated Python modules, so the
same files work under every protobuf release a runner environment pins (3.x through 7.x).
Run after changing a .proto file:  python proto/build.py   (needs grpcio-tools)
"""

import sys
from pathlib import Path

from grpc_tools import protoc

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "runners" / "common" / "runner.desc"


def build(out: Path = OUT) -> None:
    args = [
        "protoc",
        f"-I{HERE}",
        f"--descriptor_set_out={out}",
        "health.proto",
        "runner.proto",
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
