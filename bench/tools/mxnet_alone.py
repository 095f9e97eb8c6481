"""MXNet alone running a checkpoint (symbol .json and .params) on the check's batches (1, then 3):
the framework's own share of a checked conversion's memory, without mmbroker.

    python mxnet_alone.py SYMBOL.json WEIGHTS.params C,H,W
"""

import sys

import mxnet as mx
import numpy as np

symbol, params, shape = sys.argv[1], sys.argv[2], [int(d) for d in sys.argv[3].split(",")]
net = mx.gluon.SymbolBlock.imports(symbol, ["data"], params)
rng = np.random.default_rng(0)
for batch in (1, 3):
    net(mx.nd.array(rng.standard_normal([batch, *shape], dtype=np.float32))).wait_to_read()
