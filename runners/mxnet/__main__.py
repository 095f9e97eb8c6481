from runners.common.server import serve
from runners.mxnet.runner import MXNetRunner

if __name__ == "__main__":
    raise SystemExit(serve(MXNetRunner))
