from runners.cntk.runner import CNTKRunner
from runners.common.server import serve

if __name__ == "__main__":
    raise SystemExit(serve(CNTKRunner))
