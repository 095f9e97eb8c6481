import sys

from runners.common.server import serve

from .runner import OnnxRunner

sys.exit(serve(OnnxRunner))
