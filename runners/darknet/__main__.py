from runners.common.server import serve
from runners.darknet.runner import DarknetRunner

if __name__ == "__main__":
    raise SystemExit(serve(DarknetRunner))
