from runners.common.server import serve
from runners.pytorch.runner import PyTorchRunner

if __name__ == "__main__":
    raise SystemExit(serve(PyTorchRunner))
