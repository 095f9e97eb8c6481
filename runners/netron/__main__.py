import sys

from runners.common.server import serve

from .runner import NetronRunner

sys.exit(serve(NetronRunner))
