import sys

from runners.common.server import serve

from .runner import HFRunner

sys.exit(serve(HFRunner))
