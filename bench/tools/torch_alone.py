"""PyTorch alone running a model mmbroker converted, as lean as PyTorch itself allows, on the check's
batches (1, then 3): the framework's own share of a checked conversion's memory, without mmbroker.

    python torch_alone.py MODEL.py MODEL.pth

The module is built on the meta device and takes the .pth's tensors memory-mapped (no random
initial weights, no copy), and runs traced by torch.fx, whose code lets each intermediate go after
its last use (the generated forward() keeps every value alive until it returns).
"""

import importlib.util
import sys

import torch

code, weights = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("converted", code)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
cls = next(v for v in vars(module).values()
           if isinstance(v, type) and issubclass(v, torch.nn.Module) and v.__module__ == "converted")  # fmt: skip
with torch.device("meta"):
    model = cls()
model.load_state_dict(torch.load(weights, mmap=True, weights_only=True), assign=True)
model = torch.fx.symbolic_trace(model.eval())
generator = torch.Generator().manual_seed(0)
for batch in (1, 3):
    inputs = [torch.randn([batch if i == 0 else d for i, d in enumerate(shape)], generator=generator)
              for _, shape, _ in module.INPUTS]  # fmt: skip
    with torch.no_grad():
        model(*inputs)
