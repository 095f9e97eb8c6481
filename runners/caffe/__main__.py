from runners.caffe.runner import CaffeRunner
from runners.common.server import serve

if __name__ == "__main__":
    raise SystemExit(serve(CaffeRunner))
